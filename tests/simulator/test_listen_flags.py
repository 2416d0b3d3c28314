"""`--host`, `--port` and `--regional-host`: a value the simulator cannot use exits 2 with one line naming
the flag and the value, not a resolver's or the event loop's error, and never binds every interface by
accident."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from azure_speech_operator.simulator import cli as sim_cli
from azure_speech_operator.simulator.config import SimulatorConfig, problems
from pydantic import ValidationError

from .conftest import Harness
from .test_cli import _one_line_error, run_cli
from .test_control_api import CREATE, P


@pytest.mark.parametrize(
    "host",
    ["", " ", "999.1.1.1", "10.1", "bad host", "[localhost]", "localhost:8081", "-a", "a..b", "http://x"],
)
def test_a_host_that_is_no_address_or_name_exits_2_naming_it(host: str) -> None:
    # `--host ''` bound every interface (aiohttp's empty host) and printed http://:PORT
    line = _one_line_error(run_cli(f"--host={host}", "--port", "0"), f"--host: {host!r}")
    assert "is not an IP address or host name" in line


def test_a_bracketed_ipv6_host_is_taken_as_the_address() -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    assert parser.parse_args(["--host", "[::1]"]).host == "::1"
    assert parser.parse_args(["--host", "LocalHost"]).host == "localhost"


def test_an_address_not_on_this_machine_exits_2_naming_host() -> None:
    # 192.0.2.0/24 is TEST-NET-1: documentation only, never a local address
    line = _one_line_error(run_cli("--host", "192.0.2.1", "--port", "0"), "--host")
    assert line == "simulate-azure: --host: cannot listen on 192.0.2.1: Cannot assign requested address"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_busy_port_exits_2_naming_port_and_the_address(busy_port: int) -> None:
    line = _one_line_error(run_cli("--port", str(busy_port)), "--port")
    assert line == f"simulate-azure: --port: cannot listen on 127.0.0.1:{busy_port}: Address already in use"


def test_a_host_name_that_does_not_resolve_exits_2_naming_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_such_name(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # the event loop resolves through socket.getaddrinfo; DNS itself would make the test depend on the network
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    assert sim_cli.main(parser.parse_args(["--host", "nosuch.invalid", "--port", "0"])) == 2
    err = capsys.readouterr().err
    assert err == "simulate-azure: --host: cannot resolve 'nosuch.invalid': Name or service not known\n"


BAD_REGIONAL_HOSTS = [
    "bad host:x:y",
    "",
    " westus.example.com",
    "westus.example.com:",
    "westus.example.com:x",
    "westus.example.com:0",
    "westus.example.com:65536",
    "a..b",
    "-a.example.com",
    "a_b.example.com",
    "https://westus.example.com/path",
    "https://http://westus.example.com",
    "ftp://westus.example.com",
    "https://::1",
    "::1:8443:",
    "[westus.example.com]",
    "[127.0.0.1]",
    "10.1",
]
GOOD_REGIONAL_HOSTS = [
    "westus.api.cognitive.microsoft.com",
    "westus.api.cognitive.microsoft.com:443",
    "localhost:8443",
    "127.0.0.1:65535",
    "::1",
    "[::1]",
    "[::1]:8443",
    "https://westus.api.cognitive.microsoft.com",
    "http://127.0.0.1:8081",
    "https://[::1]:8443",
]


@pytest.mark.parametrize("host", BAD_REGIONAL_HOSTS)
def test_a_regional_host_that_is_no_host_is_refused(host: str) -> None:
    with pytest.raises(ValidationError) as info:
        SimulatorConfig(regional_host=host)
    assert problems(info.value).startswith("regional_host: regional host must be a host name"), info.value


@pytest.mark.parametrize("host", GOOD_REGIONAL_HOSTS)
def test_a_regional_host_may_have_a_port_a_scheme_or_be_an_ip_address(host: str) -> None:
    assert SimulatorConfig(regional_host=host).regional_host == host


def test_a_bad_regional_host_flag_exits_2_naming_it() -> None:
    # was taken, and every Location and self link then named `https://bad host:x:y/...`
    _one_line_error(
        run_cli("--port", "0", "--regional-host", "bad host:x:y"), "--regional-host: ", "'bad host:x:y'"
    )


async def test_a_bad_regional_host_is_refused_by_the_control_api(h: Harness) -> None:
    r = await h.client.patch("/_sim/config", json={"regionalHost": "bad host:x:y"})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("invalid config: regionalHost: regional host must be a host name")
    assert (await h.client.get("/_sim/config")).json()["regionalHost"] is None
    r = await h.client.patch("/_sim/config", json={"regionalHost": "westus.example.com:8443"})
    assert r.json()["regionalHost"] == "westus.example.com:8443"
    r = await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
    assert r.headers["Location"].startswith("https://westus.example.com:8443/speechtotext/endpoints/")
