"""Names the API server would refuse or never match are refused at start, naming the flag: namespaces and
label-selector keys; and `logs` reads only the settings it uses."""

from __future__ import annotations

import argparse
import re

import pytest
from azure_speech_operator.settings import (
    ENV_PREFIX,
    OperatorSettings,
    SettingsError,
    add_arguments,
    load_settings,
)


def parse(argv: list[str], env: dict[str, str] | None = None) -> OperatorSettings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_settings(parser.parse_args(argv), env or {})


# --- label-selector keys --------------------------------------------------------------------------------


def test_a_key_prefix_of_253_characters_is_accepted() -> None:
    prefix = ".".join(["a" * 63] * 4)[:253]
    assert len(prefix) == 253
    assert parse(["--label-selector", f"{prefix}/k=v"]).label_selector == f"{prefix}/k=v"


@pytest.mark.parametrize(
    "selector",
    [
        "a" * 300 + ".com/k=v",  # the API server refuses it, and kopf's watch then crashed
        "a" * 250 + ".com/k",
        "!" + "a" * 250 + ".com/k",
        "example.com/" + "k" * 64 + "=v",
    ],
)
def test_a_key_the_api_server_refuses_names_the_flag(selector: str) -> None:
    with pytest.raises(SettingsError, match=r"^--label-selector: "):
        parse(["--label-selector", selector])


def test_numeric_comparisons_stay_accepted() -> None:
    assert (
        parse(["--label-selector", "example.com/gen>3,gen<10"]).label_selector == "example.com/gen>3,gen<10"
    )


# --- namespaces -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "team-a",
        "a",
        "a" * 63,
        "team-*",
        "!kube-*",
        "!kube-system",
        "team-?",
        "team-[ab]",
        "team-[!c]",
        "team-[a-c]x",
        "*",
        "0team",
    ],
)
def test_namespace_names_and_globs_are_accepted(value: str) -> None:
    assert parse(["--namespace", value]).namespaces == (value,)


@pytest.mark.parametrize(
    "value",
    [
        "team-[",
        "[",
        "]",
        "team-[ab",
        "team-]",
        "team-[]",
        "--",
        "-a",
        "a-",
        "!",
        "!-a",
        "Team",
        "a" * 64,
        "a.b",
    ],
)
def test_a_namespace_that_is_no_name_or_glob_names_the_flag(value: str) -> None:
    with pytest.raises(SettingsError, match=f"^--namespace: {re.escape(repr(value))} "):
        parse([f"--namespace={value}"])


@pytest.mark.parametrize("argv", [["--namespace", ""], ["--namespace", " "], ["--namespace", "a,,b"]])
def test_an_empty_namespace_is_refused_not_all_namespaces(argv: list[str]) -> None:
    with pytest.raises(SettingsError, match=r"^--namespace: "):
        parse(argv)


def test_a_namespaces_variable_with_an_empty_item_is_refused_too() -> None:
    with pytest.raises(SettingsError, match=f"^{ENV_PREFIX}NAMESPACES: "):
        parse([], {f"{ENV_PREFIX}NAMESPACES": "a,,b"})


@pytest.mark.parametrize("value", ["", " "])
def test_a_blank_namespaces_variable_is_the_variable_unset(value: str) -> None:
    # a manifest's `value: ""` meant all namespaces before names were checked, and still does
    assert parse([], {f"{ENV_PREFIX}NAMESPACES": value}).namespaces == ()


def test_a_blank_allowed_hosts_variable_is_still_refused() -> None:
    with pytest.raises(SettingsError, match=f"^{ENV_PREFIX}ALLOWED_HOSTS: "):
        parse([], {f"{ENV_PREFIX}ALLOWED_HOSTS": ""})


def test_workload_identity_namespaces_are_judged_alike() -> None:
    with pytest.raises(SettingsError, match=r"^--workload-identity-namespaces: 'team-\[' "):
        parse(["--workload-identity-namespaces", "team-["])
    assert parse(["--workload-identity-namespaces", "team-*,!team-x"]).workload_identity_namespaces == (
        "team-*",
        "!team-x",
    )


# --- reading only some settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env", [{f"{ENV_PREFIX}METRICS_PORT": "abc"}, {f"{ENV_PREFIX}DRIFT_INTERVAL": "often"}]
)
def test_fields_reads_only_those_settings(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(None, env)
    settings = load_settings(None, {**env, f"{ENV_PREFIX}ALLOW_HTTP": "true"}, fields=("allow_http",))
    assert settings.allow_http is True
    assert settings.metrics_port == OperatorSettings().metrics_port


def test_fields_still_judge_the_settings_read() -> None:
    with pytest.raises(SettingsError, match=f"^{ENV_PREFIX}ALLOW_HTTP: "):
        load_settings(None, {f"{ENV_PREFIX}ALLOW_HTTP": "maybe"}, fields=("allow_http",))


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--namespace=--"], "--namespace: '--' "),
        (["--drift-interval=--"], "--drift-interval: '--' "),
        (["--peering=--"], "--peering: '--' "),
    ],
)
def test_the_value_double_dash_is_judged_as_typed(argv: list[str], named: str) -> None:
    with pytest.raises(SettingsError, match=f"^{re.escape(named)}"):
        parse(argv)
