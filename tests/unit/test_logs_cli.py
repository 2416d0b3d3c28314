"""`azure-speech-operator logs`: unit checks, then end to end against the simulator (v3.2 content logs) and
the session's Kubernetes control plane."""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from azure_speech_operator.azure.types import LogFile
from azure_speech_operator.kube import KubeApi
from azure_speech_operator.simulator.app import RunningSimulator, run_simulator
from azure_speech_operator.simulator.config import RateLimit, ResourceConfig, SimulatorConfig
from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT, SeedSpeechEndpoint, default_seed
from azure_speech_operator.speechendpoint import logs_cli
from azure_speech_operator.speechendpoint.logs_cli import (
    LogsError,
    format_table,
    parse_target,
    safe_file_name,
)

from tests.e2e.harness import Kube

KEY = "logs-test-key-0123456789"
ENDPOINT_ID = "e0000001-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    "target", ["spe/call-center", "speechendpoint/call-center", "speechendpoints/call-center", "call-center"]
)
def test_targets(target: str) -> None:
    assert parse_target(target) == "call-center"


@pytest.mark.parametrize("target", ["pod/call-center", "spe/", "spe/Call_Center", "a/b/c"])
def test_bad_targets(target: str) -> None:
    with pytest.raises(LogsError):
        parse_target(target)


def test_file_names_stay_inside_the_directory() -> None:
    taken: set[str] = set()
    names = [
        safe_file_name(LogFile(id="1", name=name), taken)
        for name in ("../../etc/passwd", "a.wav", "a.wav", "..", "dir\\x.json")
    ]
    assert names == ["passwd", "a.wav", "a-2.wav", "1", "x.json"]


def test_table() -> None:
    created = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    table = format_table([LogFile(id="1", name="a.wav", kind="Audio", size=32044, created_at=created)])
    assert table.splitlines() == [
        "NAME    KIND    SIZE       CREATED",
        "a.wav   Audio   31.3 KiB   2026-11-21T06:00:00Z",
    ]


def test_table_escapes_what_a_terminal_would_act_on() -> None:
    name = "a\x1b]0;owned\x07\x1b[2J\u202egnp.wav\nfake row"
    table = format_table([LogFile(id="1", name=name, kind="Audio\x9b31m")])
    assert all(c.isprintable() for line in table.splitlines() for c in line)
    assert len(table.splitlines()) == 2
    assert "a\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.wav\\nfake row" in table and "Audio\\x9b31m" in table


# ---------------------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    kubeconfig: Path  # the admin's, with the test's namespace as its context's default
    namespace: str
    kube: KubeApi
    sim: RunningSimulator


def kubeconfig_in_namespace(source: Path, namespace: str, path: Path) -> Path:
    """A copy of the kubeconfig at `source` whose current context defaults to `namespace`."""
    config = yaml.safe_load(source.read_text())
    for context in config["contexts"]:
        if context["name"] == config["current-context"]:
            context["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture
async def cluster(
    kube: Kube, kube_api: KubeApi, cluster_namespace: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    seed = default_seed().model_copy(
        update={
            "speech_endpoints": [
                SeedSpeechEndpoint(
                    id=ENDPOINT_ID,
                    display_name="call center",
                    locale="en-US",
                    model=BASE_EN_US_CURRENT,
                    logging_enabled=True,
                )
            ]
        }
    )
    config = SimulatorConfig(resources=(ResourceConfig(keys=(KEY,)),), rate_limit=RateLimit(requests=0))
    ns = cluster_namespace
    path = kubeconfig_in_namespace(kube.kubeconfig, ns, tmp_path / "kubeconfig")
    async with run_simulator(config, seed=seed) as sim:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": ns},
            "data": {"key": base64.b64encode(KEY.encode()).decode()},
        }
        await kube_api.request("POST", KubeApi.object_path("secrets", ns, group=""), body=secret)
        yield Cluster(path, ns, kube_api, sim)


async def create_speech_endpoint(
    cluster: Cluster, name: str, api_version: str, endpoint_id: str | None, *, endpoint: str | None = None
) -> None:
    body = {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": name, "namespace": cluster.namespace},
        "spec": {
            "azure": {
                "endpoint": endpoint or cluster.sim.url,
                "apiVersion": api_version,
                "credentials": {"secretRef": {"name": "creds", "key": "key"}},
            },
            "locale": "en-US",
            "model": {"baseModelId": BASE_EN_US_CURRENT},
        },
    }
    await cluster.kube.request("POST", KubeApi.object_path("speechendpoints", cluster.namespace), body=body)
    if endpoint_id:
        status = {"status": {"endpointId": endpoint_id}}
        await cluster.kube.patch_object(
            "speechendpoints", cluster.namespace, name, status, subresource="status"
        )


def parse(cluster: Cluster, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    logs_cli.add_arguments(parser)
    return parser.parse_args(
        [*argv, "--kubeconfig", str(cluster.kubeconfig), "--allowed-hosts", "127.0.0.1", "--allow-http"]
    )


async def test_lists_and_downloads_v32_logs_without_showing_sas_urls(
    cluster: Cluster, tmp_path: Path
) -> None:
    await create_speech_endpoint(cluster, "call-center", "v3.2", ENDPOINT_ID)
    out = io.StringIO()
    target = tmp_path / "logs"
    code = await logs_cli.run(parse(cluster, "spe/call-center", "--download", str(target)), out)
    text = out.getvalue()
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SIZE", "CREATED"]
    rows = [line for line in lines[1:] if line.endswith("Z")]
    assert len(rows) == 6 and {row.split()[1] for row in rows} == {"Audio", "Transcription"}
    files = sorted(p.name for p in target.iterdir())
    assert len(files) == 6 and all(name.endswith((".wav", ".json")) for name in files)
    assert not any(name.endswith(".part") for name in files)
    assert sum(p.stat().st_size for p in target.iterdir()) > 0
    assert "sig=" not in text and "_sim/blobs" not in text and KEY not in text


async def test_later_api_versions_are_refused(cluster: Cluster) -> None:
    await create_speech_endpoint(cluster, "modern", "2025-10-15", ENDPOINT_ID)
    with pytest.raises(LogsError, match=r"2025-10-15.*v3\.2"):
        await logs_cli.run(parse(cluster, "modern", "-n", cluster.namespace), io.StringIO())


async def test_endpoint_without_id_and_missing_resource(cluster: Cluster) -> None:
    await create_speech_endpoint(cluster, "new", "v3.2", None)
    with pytest.raises(LogsError, match="no Azure endpoint yet"):
        await logs_cli.run(parse(cluster, "spe/new"), io.StringIO())
    with pytest.raises(LogsError, match=f"{cluster.namespace}/absent not found"):
        await logs_cli.run(parse(cluster, "spe/absent"), io.StringIO())


async def test_command_exits_1_with_one_line(cluster: Cluster) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "azure_speech_operator",
        "logs",
        "spe/absent",
        "--kubeconfig",
        str(cluster.kubeconfig),
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 1
    assert stderr.decode().strip().splitlines() == [
        f"azure-speech-operator logs: SpeechEndpoint {cluster.namespace}/absent not found"
    ]


async def test_command_lists_logs(cluster: Cluster) -> None:
    await create_speech_endpoint(cluster, "call-center", "v3.2", ENDPOINT_ID)
    code, stdout, stderr = await run_command(cluster, "speechendpoint/call-center")
    assert code == 0, stderr
    assert stdout.count(".wav") == 3


# --- a hostile stand-in for Azure --------------------------------------------------------------------------

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def hostile_azure(logs: Route) -> AsyncIterator[str]:
    """An HTTP server answering the v3.2 log listing with `logs`; yields its URL."""
    app = web.Application()
    app.router.add_get("/speechtotext/v3.2/endpoints/{id}/files/logs", logs)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def run_command(cluster: Cluster, *argv: str) -> tuple[int | None, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "azure_speech_operator",
        "logs",
        *argv,
        "--kubeconfig",
        str(cluster.kubeconfig),
        env={
            **os.environ,
            "AZURE_SPEECH_OPERATOR_ALLOWED_HOSTS": "127.0.0.1",
            "AZURE_SPEECH_OPERATOR_ALLOW_HTTP": "1",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, stdout.decode(), stderr.decode()


async def test_an_answer_that_is_not_its_gzip_is_one_line_and_no_traceback(cluster: Cluster) -> None:
    async def logs(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )
        await response.prepare(request)
        await response.write(
            b"this is not gzip " + request.headers.get("Ocp-Apim-Subscription-Key", "").encode()
        )
        return response

    async with hostile_azure(logs) as url:
        await create_speech_endpoint(cluster, "hostile", "v3.2", ENDPOINT_ID, endpoint=url)
        code, stdout, stderr = await run_command(cluster, "spe/hostile", "-n", cluster.namespace)
    assert code == 1 and not stdout
    assert "Traceback" not in stderr and KEY not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("azure-speech-operator logs: InvalidResponse"), stderr


async def test_file_names_from_azure_reach_the_terminal_escaped(cluster: Cluster) -> None:
    async def logs(request: web.Request) -> web.StreamResponse:
        base = f"http://{request.host}/speechtotext/v3.2/endpoints/{request.match_info['id']}/files/logs"
        entry = {"self": f"{base}/1", "name": "evil\u202egnp.wav\x1b[2J", "kind": "Audio\u2066"}
        return web.json_response({"values": [entry]})

    async with hostile_azure(logs) as url:
        await create_speech_endpoint(cluster, "names", "v3.2", ENDPOINT_ID, endpoint=url)
        code, stdout, stderr = await run_command(cluster, "spe/names", "-n", cluster.namespace)
    assert code == 0, stderr
    assert all(c.isprintable() for line in stdout.splitlines() for c in line), stdout
    assert "evil\\u202egnp.wav" in stdout and "\\u2066" in stdout
