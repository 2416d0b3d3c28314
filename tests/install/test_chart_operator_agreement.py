"""The chart refuses exactly the values the operator would refuse at start: a value `helm install` takes but
the operator refuses leaves a pod crash-looping, with nothing said at install. Each value goes through the
pinned helm (values.schema.json and the templates' own checks) and through the operator's flag parsing (what
`azure-speech-operator run` calls), and the two must agree."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import pytest
from azure_speech_operator import runner, settings
from azure_speech_operator.settings import OperatorSettings, SettingsError, load_settings

from .chart import CHART, Helm, container_args

SELECTORS = [
    "",
    "  ",
    "shard=a",
    "shard==a",
    "shard!=a",
    "shard",
    "!shard",
    "! shard",
    "shard in (a,b)",
    "shard notin ( a , b )",
    "shard in (a,)",
    "shard in(a)",
    " shard = a ",
    "example.com/shard=a",
    "app.kubernetes.io/name=x,tier!=db,!canary",
    "Shard=A_1",
    "shard=" + "v" * 63,
    "a" * 253 + "/shard=a",
    "x>5",
    "x < 10",
    "x>-1",
    "x>+1",
    "shard=a,x>5",
    # refused
    "x>y",
    "x>",
    "x>=5",
    "x>1.5",
    "shard=a=b",
    "a/b/c=x",
    "Example.com/shard=a",
    "shard=" + "v" * 64,
    "a" * 254 + "/shard=a",
    "x=1," + "a" * 254 + "/shard",
    "shard=-a",
    "shard=a-",
    "-shard=a",
    "shard in ()",
    "shard in (a",
    "shard in (,a)",
    "shardin (a)",
    "shard notin",
    ",",
    "shard=a,",
    "a,,b",
    "a;b",
    "a=b c",
]

DURATIONS = [
    "90s",
    "5m",
    "1h30m",
    "30d",
    "250ms",
    "1.5m",
    "0.7m",
    "90",
    "1.5",
    "1H30M",
    "5s5s",
    "1d",
    "10s",
    "10000ms",
    "0.5m",
    "9s",
    "10.5s",
    "0.0001ms",
    "0.0005001ms",
    "0s",
    "0",
    "0m0s",
    "36500d",
    "876000h",
    "3153600000s",
    "18250d18250d",
    "36500.5d",
    "36501d",
    "999999d",
    "3153600001s",
    "18250d18251d",
    # refused as syntax
    "often",
    "5 m",
    "5x",
    "1.s",
    ".5s",
    "5m-",
    "",
]

HOSTS = [
    "x.com",
    "*.x.com",
    "*",
    "x.com:443",
    "x.com:0443",
    "x.com:1",
    "x.com:65535",
    "x.com:*",
    "HTTPS://X.com:443",
    "http://127.0.0.1:8080",
    "http://*",
    "http://notazure.com",
    "https://*.azure.com",
    "[::1]:8080",
    "[::1]",
    "::1",
    # refused
    "x.com:65536",
    "x.com:99999",
    "https://x.com:99999",
    "x.com:0",
    "x.com:00",
    "x.com:",
    "x.com:abc",
    "[::1]:70000",
    "[::1]x",
    ":443",
    "[]",
    "ftp://x.com",
    "x.com/path",
    "user@x.com",
    "http://*.cognitiveservices.azure.com",
    "http://azure.com",
    "http://*azure.com",
    "http://.azure.com",
    "http://x.azure.com.:80",
    "http://x.windows.net..",
]

# value path in values.yaml -> the flags the chart renders for it
DURATION_FIELDS = {
    "driftInterval": ["--drift-interval"],  # longer than zero (under 10 s: raised, with a warning)
    "modelExpiryWindow": ["--model-expiry-window"],  # zero or more
    "peering.lifetime": ["--peering=p", "--peering-lifetime"],  # whole seconds from 10 s
}


def nested(path: str, value: Any) -> dict[str, Any]:
    """{"a": {"b": value}} for "a.b"."""
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


def operator_settings(args: list[str]) -> OperatorSettings:
    """What `azure-speech-operator run ARGS` starts with (SettingsError: it exits at start)."""
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    return load_settings(parser.parse_args(args), {})


def operator_accepts(args: list[str]) -> bool:
    try:
        operator_settings(args)
    except SettingsError:
        return False
    return True


def assert_agree(helm: Helm, values: dict[str, Any], args: list[str]) -> None:
    """Helm takes `values` exactly when the operator takes `args` (the flags they become). What Helm takes is
    judged as the operator reads the flags Helm rendered."""
    proc = helm.run("template", "x", str(CHART), values=values, check=False)
    if proc.returncode == 0:
        rendered = helm.template(values)
        assert operator_accepts(container_args(rendered)), f"helm takes {values}, the operator refuses it"
    else:
        assert "Error" in proc.stderr
        assert not operator_accepts(args), f"helm refuses {values}, the operator takes {args}: {proc.stderr}"


@pytest.mark.parametrize("selector", SELECTORS)
def test_label_selectors(helm: Helm, selector: str) -> None:
    assert_agree(helm, {"labelSelector": selector}, [f"--label-selector={selector}"])


@pytest.mark.parametrize("field", DURATION_FIELDS)
@pytest.mark.parametrize("duration", DURATIONS)
def test_durations(helm: Helm, field: str, duration: str) -> None:
    *flags, flag = DURATION_FIELDS[field]
    values = nested(field, duration)
    if field.startswith("peering."):
        values["peering"]["enabled"] = True
    assert_agree(helm, values, [*flags, f"{flag}={duration}"])


@pytest.mark.parametrize("host", HOSTS)
def test_host_patterns(helm: Helm, host: str) -> None:
    assert_agree(helm, {"allowedHosts": [host]}, [f"--allowed-hosts={host}"])


NAMESPACES = ["team-a", "!kube-system", "team-*", "!kube-*", "team-[ab]", "t?am", "team-[!x]", "a" * 63]
NAMESPACES += ["a" * 62 + "*", "!" + "a" * 62 + "*"]
BAD_NAMESPACES = ["team-[", "[", "]", "team-[ab", "--", "-a", "a-", "Team", "!", "team-[]", "a" * 64]
BAD_NAMESPACES += ["a" * 63 + "*", "!" + "a" * 63 + "*"]


@pytest.mark.parametrize("namespace", NAMESPACES + BAD_NAMESPACES)
def test_workload_identity_namespaces(helm: Helm, namespace: str) -> None:
    values = {"workloadIdentityNamespaces": [namespace]}
    assert_agree(helm, values, [f"--workload-identity-namespaces={namespace}"])


@pytest.mark.parametrize("duration", ["1e3", "1_000", "+5", " 5m", "\uff15s"])
def test_the_chart_refuses_duration_forms_beyond_its_docs(helm: Helm, duration: str) -> None:
    """The operator reads these (through float(), after a strip, any Unicode digit); the chart keeps to the
    forms the docs show: stricter, never a crash-loop."""
    assert operator_accepts([f"--drift-interval={duration}"])
    proc = helm.run("template", "x", str(CHART), values={"driftInterval": duration}, check=False)
    assert "at '/driftInterval'" in proc.stderr


def test_the_selector_pattern_is_the_operators_grammar() -> None:
    """The schema's pattern is the operator's requirement, joined by commas (the commas the operator splits
    at: outside parentheses), or blank: a change to the grammar fails here until the schema follows. Helm's
    regular expressions have no lookahead: the operator's (a key prefix's length) is the schema's `not`."""
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["labelSelector"]
    requirement = re.sub(r"\(\?=[^()]*\)", "", settings._SELECTOR_REQUIREMENT.pattern)
    assert schema["pattern"] == rf"^(\s*|{requirement}(,{requirement})*)$"
    assert schema["not"] == {"pattern": "[-a-z0-9.]{254}/"}
