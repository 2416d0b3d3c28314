"""SharedSecretReads: one read per Secret for the passes of a moment, nothing kept that could hide a fix."""

from __future__ import annotations

import asyncio

import pytest
from azure_speech_operator.kube import KubeApiError, SecretData
from azure_speech_operator.runtime.secrets import SharedSecretReads
from pydantic import SecretBytes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Reader:
    """Answers from `secrets`; each read waits for `gate` so that concurrent reads overlap."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], SecretData] = {("ns", "creds"): {"key": SecretBytes(b"one")}}
        self.calls: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: KubeApiError | None = None

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.calls.append((namespace, name))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.secrets.get((namespace, name))


def value(data: SecretData | None) -> bytes:
    assert data is not None
    return data["key"].get_secret_value()


async def test_concurrent_reads_of_one_secret_share_one_request() -> None:
    reader = Reader()
    reader.gate.clear()
    reads = SharedSecretReads(reader, clock=Clock())
    waiting = [asyncio.ensure_future(reads.read_secret("ns", "creds")) for _ in range(50)]
    await asyncio.sleep(0)
    reader.gate.set()
    answers = await asyncio.gather(*waiting)
    assert reader.calls == [("ns", "creds")]
    assert {value(answer) for answer in answers} == {b"one"}


async def test_an_answer_is_shared_while_fresh_then_read_anew() -> None:
    reader, clock = Reader(), Clock()
    reads = SharedSecretReads(reader, freshness=2.0, clock=clock)
    assert value(await reads.read_secret("ns", "creds")) == b"one"
    reader.secrets["ns", "creds"] = {"key": SecretBytes(b"two")}
    clock.now += 1.9
    assert value(await reads.read_secret("ns", "creds")) == b"one"
    clock.now += 0.2
    assert value(await reads.read_secret("ns", "creds")) == b"two"  # a rotated key within the freshness
    assert len(reader.calls) == 2


async def test_other_secrets_are_read_on_their_own() -> None:
    reader = Reader()
    reader.secrets["other", "creds"] = {"key": SecretBytes(b"other")}
    reads = SharedSecretReads(reader, clock=Clock())
    assert value(await reads.read_secret("ns", "creds")) == b"one"
    assert value(await reads.read_secret("other", "creds")) == b"other"
    assert reader.calls == [("ns", "creds"), ("other", "creds")]


async def test_a_missing_secret_is_not_kept() -> None:
    reader = Reader()
    reads = SharedSecretReads(reader, clock=Clock())
    assert await reads.read_secret("ns", "later") is None
    reader.secrets["ns", "later"] = {"key": SecretBytes(b"made")}
    assert value(await reads.read_secret("ns", "later")) == b"made"  # created to unblock: seen at once


async def test_a_failed_read_is_not_kept() -> None:
    reader = Reader()
    reads = SharedSecretReads(reader, clock=Clock())
    reader.fail = KubeApiError(500, "InternalError", "boom", operation="reading a Secret")
    with pytest.raises(KubeApiError):
        await reads.read_secret("ns", "creds")
    reader.fail = None
    assert value(await reads.read_secret("ns", "creds")) == b"one"
    assert len(reader.calls) == 2


async def test_forget_reads_a_changed_secret_at_once() -> None:
    reader = Reader()
    reads = SharedSecretReads(reader, clock=Clock())
    await reads.read_secret("ns", "creds")
    reader.secrets["ns", "creds"] = {"key": SecretBytes(b"two")}
    reads.forget("ns", "creds")
    assert value(await reads.read_secret("ns", "creds")) == b"two"


async def test_a_cancelled_waiter_leaves_the_read_to_the_others() -> None:
    reader = Reader()
    reader.gate.clear()
    reads = SharedSecretReads(reader, clock=Clock())
    first = asyncio.ensure_future(reads.read_secret("ns", "creds"))
    second = asyncio.ensure_future(reads.read_secret("ns", "creds"))
    await asyncio.sleep(0)
    first.cancel()
    reader.gate.set()
    assert value(await second) == b"one"
    assert reader.calls == [("ns", "creds")]


async def test_old_answers_leave_memory() -> None:
    reader, clock = Reader(), Clock()
    reader.secrets["ns", "b"] = {"key": SecretBytes(b"b")}
    reads = SharedSecretReads(reader, freshness=2.0, clock=clock)
    await reads.read_secret("ns", "creds")
    clock.now += 5
    await reads.read_secret("ns", "b")
    assert list(reads._reads._reads) == [("ns", "b")]
