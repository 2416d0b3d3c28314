"""The bytes behind simulated content-log files, and the size and duration the listing reports for them.

The listing and the blob store both derive from `log_content`, so `properties.size` is always the number of
bytes a download of `links.contentUrl` returns, and an audio file's `duration` is what its WAV header says.
"""

from __future__ import annotations

import json

from .state import LogFile

SAMPLE_RATE = 16_000  # Hz, 16-bit mono PCM: what the Speech service logs for real-time recognition
BYTES_PER_SAMPLE = 2
WAV_HEADER_BYTES = 44
TICKS_PER_SECOND = 10_000_000  # Azure transcriptions count time in 100 ns ticks


def _wav(seconds: int) -> bytes:
    data = seconds * SAMPLE_RATE * BYTES_PER_SAMPLE
    header = (
        b"RIFF"
        + (WAV_HEADER_BYTES - 8 + data).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")  # PCM
        + (1).to_bytes(2, "little")  # mono
        + SAMPLE_RATE.to_bytes(4, "little")
        + (SAMPLE_RATE * BYTES_PER_SAMPLE).to_bytes(4, "little")
        + BYTES_PER_SAMPLE.to_bytes(2, "little")
        + (8 * BYTES_PER_SAMPLE).to_bytes(2, "little")
        + b"data"
        + data.to_bytes(4, "little")
    )
    return header + bytes(data)


def _transcription(log: LogFile) -> bytes:
    ticks = log.seconds * TICKS_PER_SECOND
    text = "Hello, simulator."
    body = {
        "source": log.name.rsplit(".", 1)[0] + ".wav",
        "durationInTicks": ticks,
        "duration": iso_duration(log.seconds),
        "combinedRecognizedPhrases": [{"channel": 0, "lexical": text.lower().strip(".,"), "display": text}],
        "recognizedPhrases": [
            {
                "recognitionStatus": "Success",
                "channel": 0,
                "offsetInTicks": 0,
                "durationInTicks": ticks,
                "nBest": [{"confidence": 0.93, "display": text}],
            }
        ],
    }
    return json.dumps(body, indent=2).encode()


def log_content(log: LogFile) -> bytes:
    """The bytes the simulated blob store serves for a log file."""
    return _wav(log.seconds) if log.kind == "Audio" else _transcription(log)


def log_size(log: LogFile) -> int:
    return len(log_content(log))


def iso_duration(seconds: int) -> str:
    return f"PT{seconds}S"
