"""The `simulate-azure` command as a process: start-up line, curl-style walks, SIGTERM, state file, seed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure_speech_operator.simulator import seed as ids

from .conftest import ipv6_loopback

KEY = "cli-key"


class Proc:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        self.stderr = ""

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        _, self.stderr = self.proc.communicate(timeout=10)  # also closes the pipes
        return self.proc.returncode


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "azure_speech_operator", "simulate-azure", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=check)


def start(*args: str) -> Proc:
    cmd = [
        sys.executable,
        "-m",
        "azure_speech_operator",
        "simulate-azure",
        "--port",
        "0",
        "--keys",
        KEY,
        *args,
    ]
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.monotonic() - began
    assert line.startswith("simulate-azure listening on http://127.0.0.1:"), (
        line,
        proc.stderr and proc.stderr.read(),
    )
    assert elapsed < 5  # the issue asks for < 2 s; leave room for a loaded CI machine
    return Proc(proc, line.split(" on ", 1)[1].strip())


@pytest.fixture
def sim_proc() -> Iterator[Proc]:
    p = start("--time-scale", "0.001", "--rate-limit", "0")
    yield p
    if p.proc.poll() is None:
        p.stop()


def wait_status(client: httpx.Client, url: str, wanted: str, **kwargs: object) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(url, **kwargs).json()["status"]  # type: ignore[arg-type]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"never reached {wanted}: {seen}")


def test_speech_and_voice_walks_then_sigterm(sim_proc: Proc) -> None:
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    with httpx.Client(base_url=sim_proc.url, headers=headers, timeout=5) as c:
        r = c.post(
            "/speechtotext/endpoints",
            params={"api-version": "2025-10-15"},
            json={
                "displayName": "cli",
                "locale": "en-US",
                "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
            },
        )
        assert r.status_code == 201
        assert r.json()["status"] == "NotStarted"
        seen = wait_status(c, r.headers["Location"], "Succeeded")
        assert seen[-1] == "Succeeded"
        eid = str(uuid.uuid4())
        r = c.put(
            f"/customvoice/endpoints/{eid}",
            params={"api-version": "2026-01-01"},
            json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
        )
        assert r.status_code == 201
        url, p = f"/customvoice/endpoints/{eid}", {"params": {"api-version": "2026-01-01"}}
        wait_status(c, url, "Succeeded", **p)
        assert c.post(f"{url}:suspend", params={"api-version": "2026-01-01"}).status_code == 202
        wait_status(c, url, "Disabled", **p)
        assert c.post(f"{url}:resume", params={"api-version": "2026-01-01"}).status_code == 202
        wait_status(c, url, "Succeeded", **p)
        counts = c.get("/_sim/requests").json()
        assert counts["operations"]["Endpoints_Create"] == {"201": 1}
        # A reset fault closes the connection without an answer and the server keeps running.
        c.post("/_sim/faults", json={"kind": "reset"})
        with pytest.raises(httpx.TransportError):
            c.get("/speechtotext/endpoints", params={"api-version": "2025-10-15"})
        assert c.get("/speechtotext/endpoints", params={"api-version": "2025-10-15"}).status_code == 200
        # The clock can be moved forward from outside.
        before = c.get("/_sim/clock").json()["epoch"]
        after = c.post("/_sim/clock", json={"advance": 3600}).json()["epoch"]
        assert after - before >= 3600
    assert sim_proc.stop() == 0
    assert "Traceback" not in sim_proc.stderr, sim_proc.stderr


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start("--state-file", str(state))
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    with httpx.Client(base_url=first.url, headers=headers, timeout=5) as c:
        r = c.post(
            "/speechtotext/v3.2/endpoints",
            json={
                "displayName": "kept",
                "locale": "de-DE",
                "model": {"self": f"https://x/speechtotext/v3.2/models/{ids.CUSTOM_DE_DE_DEPLOYABLE}"},
            },
        )
        eid = r.json()["self"].rsplit("/", 1)[1]
        c.post("/_sim/clock", json={"advance": 7200})
    assert first.stop() == 0
    assert eid in state.read_text()
    second = start("--state-file", str(state))
    try:
        with httpx.Client(base_url=second.url, headers=headers, timeout=5) as c:
            r = c.get(f"/speechtotext/v3.2/endpoints/{eid}")
            assert r.status_code == 200 and r.json()["displayName"] == "kept"
            assert r.json()["status"] == "Succeeded"  # the advanced clock was kept
            assert c.get("/_sim/clock").json()["epoch"] - time.time() > 7000
    finally:
        second.stop()


def test_print_seed_and_seed_file(tmp_path: Path) -> None:
    out = run_cli("--print-seed", check=True)
    seed = json.loads(out.stdout)
    assert ids.BASE_EN_US_EXPIRING in {m["id"] for m in seed["baseModels"]}
    custom = tmp_path / "seed.yaml"
    custom.write_text(
        "baseModels:\n"
        "  - id: 11111111-1111-4111-8111-111111111111\n"
        "    locale: fr-FR\n"
        "    displayName: fr base\n"
        "    transcriptionInDays: 5\n"
        "customModels: []\n"  # the built-in ones name the built-in base models
        "speechEndpoints: []\n"
    )
    out = run_cli("--print-seed", "--seed-file", str(custom), check=True)
    seed = json.loads(out.stdout)
    assert [m["locale"] for m in seed["baseModels"]] == ["fr-FR"]
    assert seed["voiceModels"]  # lists the file leaves out keep the built-in data
    bad = tmp_path / "bad.yaml"
    bad.write_text("baseModels:\n  - id: not-a-uuid\n    locale: x\n    displayName: y\n")
    out = run_cli("--print-seed", "--seed-file", str(bad))
    assert out.returncode == 2
    assert "not a UUID" in out.stderr and "bad.yaml" in out.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rate-limit", "lots"], "--rate-limit"),
        (["--rate-limit", "5/0"], "--rate-limit"),
        (["--resource", "noequals"], "--resource"),
        (["--resource", "b=k@5/0"], "--resource b"),
        (["--fault-kinds", "boom"], "--fault-kinds"),
        (["--port", "99999"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "http"], "--port"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(args: list[str], named: str) -> None:
    out = run_cli("--port", "0", *args)
    assert out.returncode == 2, (args, out.stderr)
    assert "simulate-azure" in out.stderr and named in out.stderr and "Traceback" not in out.stderr


def test_unreadable_state_file_and_busy_port_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    out = run_cli("--port", "0", "--state-file", str(state))
    assert out.returncode == 2
    assert "not a readable simulator state file" in out.stderr and "Traceback" not in out.stderr
    running = start()
    try:
        port = running.url.rsplit(":", 1)[1]
        out = run_cli("--port", port)
        assert out.returncode == 2 and "simulate-azure:" in out.stderr
    finally:
        running.stop()


def _doc_walkthrough() -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    section = text.split("## Walk-through with curl", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_docs_curl_walkthrough_runs_verbatim() -> None:
    script = _doc_walkthrough()
    assert "--port 8081" in script and "--time-scale 0.01" in script
    with socket.socket() as s:  # a free port instead of 8081, and shorter waits
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = script.replace("8081", port).replace("--time-scale 0.01", "--time-scale 0.002")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # the simulator the script starts goes down with it on failure
    )
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    assert proc.returncode == 0, stderr
    statuses = [line for line in stdout.splitlines() if line.isalpha()]
    # Each walk ends where the issue says; intermediate statuses show when a poll lands in them.
    assert statuses[0] == "NotStarted", stdout
    _, voice_up, voice_back = [i for i, s in enumerate(statuses) if s == "Succeeded"]
    assert voice_up < statuses.index("Disabled") < voice_back == len(statuses) - 1, statuses
    assert stdout.count("\n202\n") == 2
    counts = json.loads(stdout.strip().splitlines()[-1])
    assert counts["operations"]["Endpoints_Create"] == {"201": 1}
    assert counts["operations"]["CustomVoice.Endpoints_Suspend"] == {"202": 1}


def _one_line_error(out: subprocess.CompletedProcess[str], *named: str) -> str:
    """Exit 2 with one line on stderr naming each of `named`, no traceback."""
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulate-azure: "), out.stderr
    for name in named:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("syntax.yaml", "baseModels: [\n", "not valid YAML"),
        ("tabs.yaml", "a:\n\tb: 1\n", "not valid YAML"),
        ("broken.json", "{nope", "not valid JSON"),
        ("list.yaml", "- 1\n", "must be a mapping"),
        ("binary.yaml", b"\xff\xfe\x00", "not UTF-8"),
        ("missing.yaml", None, "No such file or directory"),
        ("folder.yaml", "dir", "Is a directory"),
        (
            "forever.yaml",
            "baseModels:\n  - {id: " + ids.BASE_EN_US_CURRENT + ", locale: en-US, displayName: x,"
            " createdDaysAgo: .inf}\n",
            "finite number",
        ),
        (
            "dangling.yaml",
            "voiceEndpoints:\n"
            "  - {id: 00000000-0000-4000-8000-0000000000aa, projectId: Nope, modelId: Jessica}\n",
            "voiceEndpoints.0.projectId: no voiceProjects entry has the id 'Nope'",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["--print-seed", "serve"])
def test_a_bad_seed_file_exits_2_with_one_line_naming_flag_file_and_problem(
    tmp_path: Path, name: str, content: str | bytes | None, problem: str, mode: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    args = ["--print-seed"] if mode == "--print-seed" else ["--port", "0"]
    out = run_cli(*args, "--seed-file", str(path))
    _one_line_error(out, "--seed-file", str(path), problem)
    assert not out.stdout


def test_a_state_file_in_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "state.json"
    _one_line_error(run_cli("--port", "0", "--state-file", str(path)), "--state-file", str(path.parent))
    _one_line_error(run_cli("--port", "0", "--state-file", str(tmp_path)), "--state-file", "is a directory")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "a JSON object, not a list"),
        ('"state"', "a JSON object, not a string"),
        ('{"endpoints": []}', "no version"),
        ('{"version": 1, "resources": []}', "resources"),
        ('{"version": 7, "resources": {}}', "version"),
        ('{"version": 1, "resources": {}, "clockOffset": 1e400}', "clockOffset"),
        ("{not json", "not JSON"),
    ],
)
def test_a_state_file_that_is_not_the_simulators_exits_2_naming_it(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    out = run_cli("--port", "0", "--state-file", str(path))
    _one_line_error(out, "--state-file", str(path), "not a readable simulator state file", problem)
    assert path.read_text() == content  # left as it was


def test_an_empty_state_file_is_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("")  # as mktemp leaves it
    proc = start("--state-file", str(path))
    assert proc.stop() == 0, proc.stderr
    assert json.loads(path.read_text())["version"] == 1


def test_a_failing_save_is_reported_in_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    proc = start("--state-file", str(folder / "state.json"), "--rate-limit", "0")
    try:
        folder.rmdir()  # the directory goes away while the simulator runs
        with httpx.Client(base_url=proc.url, headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=5) as c:
            body = {
                "displayName": "x",
                "locale": "en-US",
                "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
            }
            assert c.post(
                "/speechtotext/endpoints", params={"api-version": "2025-10-15"}, json=body
            ).is_success
            time.sleep(1)  # the scheduled save fails: logged, the simulator keeps serving
            assert c.get("/_sim/health").status_code == 200
    finally:
        code = proc.stop()
    assert code == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception in callback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and all("--state-file" in line and "cannot save" in line for line in lines), lines


def test_an_advanced_clock_survives_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start("--state-file", str(state))
    with httpx.Client(base_url=first.url, timeout=5) as c:
        assert c.post("/_sim/clock", json={"advance": 7200}).status_code == 200
    time.sleep(1.5)  # the save comes 0.5 s after the change
    first.proc.kill()
    first.proc.communicate(timeout=10)
    second = start("--state-file", str(state))
    try:
        with httpx.Client(base_url=second.url, timeout=5) as c:
            assert c.get("/_sim/clock").json()["epoch"] - time.time() > 7000
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--time-scale", "inf"], "--time-scale: Input should be a finite number"),
        (["--time-scale", "nan"], "--time-scale: Input should be a finite number"),
        (["--speech-deploy-seconds", "inf"], "--speech-deploy-seconds: Input should be a finite number"),
        (
            ["--voice-training-seconds", "1e12"],
            "--voice-training-seconds: Input should be less than or equal",
        ),
        (["--slow-seconds", "1e400"], "--slow-seconds: Input should be a finite number"),
        (["--timeout-seconds", "86400"], "--timeout-seconds: Input should be less than or equal to 3600"),
        (["--fault-rate", "nan"], "--fault-rate: Input should be a finite number"),
        (["--rate-limit", "5/99999999"], "--rate-limit: rate limit must look like N/S"),
        (["--fault-kinds", ""], "--fault-kinds: at least one fault kind is needed"),
        (["--fault-kinds", " , "], "--fault-kinds: at least one fault kind is needed"),
        (["--region", ""], "--region: region must be a region name"),
        (["--region", "west us"], "--region: region must be a region name"),
        (["--bearer-token", ""], "--bearer-token: a bearer token must not be an empty string"),
    ],
)
def test_infinite_absurd_and_empty_flag_values_exit_2_naming_the_flag(args: list[str], named: str) -> None:
    _one_line_error(run_cli("--port", "0", *args), named)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--port", "70000"], "simulate-azure: --port: 70000 is not a port"),
        (["--port", "abc"], "simulate-azure: --port: 'abc' is not a port number"),
        (["--time-scale", "abc"], "simulate-azure: --time-scale: invalid float value: 'abc'"),
        (["--quota", "many"], "simulate-azure: --quota: invalid int value: 'many'"),
        (["--seed"], "simulate-azure: --seed: expected one argument"),
        (["--no-such-flag"], "simulate-azure: unrecognized arguments: --no-such-flag"),
    ],
)
def test_flags_argparse_refuses_exit_2_with_one_line_naming_the_flag(args: list[str], named: str) -> None:
    # docs/simulator.md: one line, not argparse's usage block followed by the error.
    assert _one_line_error(run_cli(*args), named).startswith(named)


@pytest.mark.skipif(not ipv6_loopback(), reason="needs IPv6 on the loopback")
def test_an_ipv6_host_is_bracketed_in_the_listening_url() -> None:
    cmd = [sys.executable, "-m", "azure_speech_operator", "simulate-azure", "--host", "::1", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("simulate-azure listening on http://[::1]:"), line
        url = line.split(" on ", 1)[1].strip()
        assert httpx.get(f"{url}/_sim/health", timeout=5).json() == {"ok": True}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
