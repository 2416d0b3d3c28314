import argparse
from datetime import timedelta

import pytest
from azure_speech_operator.azure.config import DEFAULT_ALLOWED_HOSTS
from azure_speech_operator.settings import (
    ENV_PREFIX,
    OPTIONS,
    OperatorSettings,
    SettingsError,
    add_arguments,
    adjustment_warnings,
    load_settings,
    parse_duration,
)


def parse(argv: list[str], env: dict[str, str] | None = None) -> OperatorSettings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_settings(parser.parse_args(argv), env or {})


def warnings_of(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv)
    return adjustment_warnings(load_settings(args, env or {}), args, env or {})


def test_defaults_match_the_design() -> None:
    s = parse([])
    assert s.namespaces == ()
    assert s.allowed_hosts == DEFAULT_ALLOWED_HOSTS
    assert s.allow_http is False
    assert (s.azure_budget_requests, s.azure_budget_window) == (90, timedelta(seconds=10))
    assert s.drift_interval == timedelta(hours=1)
    assert s.credentials_retry_interval == timedelta(minutes=2)
    assert s.deletion_credentials_wait == timedelta(minutes=10)
    assert s.model_expiry_window == timedelta(days=30)
    assert s.model_check_interval == timedelta(days=1)
    assert s.transient_backoff_cap == timedelta(minutes=5)
    assert (s.blocked_retry_base, s.blocked_retry_cap) == (timedelta(minutes=5), timedelta(minutes=30))
    assert (s.waiting_retry_min, s.waiting_retry_max) == (timedelta(minutes=1), timedelta(minutes=5))
    assert s.workload_identity_namespaces == ()
    assert s.watch_credential_secrets is True
    assert s.metrics_port == 8080
    assert s.metrics_address == "127.0.0.1"  # in a pod: --metrics-address 0.0.0.0 (docs/operations.md)
    assert s.peering is None
    assert (s.azure_request_deadline, s.log_download_deadline) == (timedelta(seconds=60), timedelta(hours=1))
    client = s.client_settings()
    assert (client.request_deadline_s, client.download_deadline_s) == (60.0, 3600.0)


def test_flag_wins_over_env_and_env_over_default() -> None:
    env = {f"{ENV_PREFIX}DRIFT_INTERVAL": "10m", f"{ENV_PREFIX}CREDENTIALS_RETRY_INTERVAL": "30s"}
    s = parse(["--drift-interval", "90s"], env)
    assert s.drift_interval == timedelta(seconds=90)  # flag
    assert s.credentials_retry_interval == timedelta(seconds=30)  # env
    assert s.deletion_credentials_wait == timedelta(minutes=10)  # default


def test_boolean_flags_override_env_both_ways() -> None:
    assert parse(["--no-allow-http"], {f"{ENV_PREFIX}ALLOW_HTTP": "true"}).allow_http is False
    assert parse(["--allow-http"], {f"{ENV_PREFIX}ALLOW_HTTP": "false"}).allow_http is True
    assert parse([], {f"{ENV_PREFIX}ALLOW_HTTP": "yes"}).allow_http is True
    assert parse(["--no-watch-credential-secrets"]).watch_credential_secrets is False


def test_lists_from_repeated_flags_commas_and_env() -> None:
    assert parse(["--namespace", "a,b", "--namespace", "team-*"]).namespaces == ("a", "b", "team-*")
    assert parse([], {f"{ENV_PREFIX}NAMESPACES": "x, y"}).namespaces == ("x", "y")
    s = parse(["--allowed-hosts", "127.0.0.1,localhost", "--allow-http"])
    assert s.allowed_hosts == ("127.0.0.1", "localhost")
    assert s.client_settings().allowed_hosts == ("127.0.0.1", "localhost")
    assert s.client_settings().allow_http is True


def test_plain_http_per_host_pattern_and_never_to_azure() -> None:
    s = parse(["--allowed-hosts", "http://127.0.0.1:*,*.cognitiveservices.azure.com:443"])
    assert s.client_settings().allowed_hosts == ("http://127.0.0.1:*", "*.cognitiveservices.azure.com:443")
    with pytest.raises(SettingsError, match=r"--allowed-hosts: .*https only"):
        parse(["--allowed-hosts", "http://*.cognitiveservices.azure.com"])
    with pytest.raises(SettingsError, match=f"{ENV_PREFIX}LOG_DOWNLOAD_HOSTS: .*https only"):
        parse([], {f"{ENV_PREFIX}LOG_DOWNLOAD_HOSTS": "http://*.blob.core.windows.net"})


def test_every_setting_has_a_flag_and_env_var() -> None:
    fields = set(OperatorSettings.model_fields)
    assert {o.field for o in OPTIONS} == fields
    for option in OPTIONS:
        assert option.env == ENV_PREFIX + option.field.upper()


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--drift-interval", "soon"], {}, "--drift-interval"),
        ([], {f"{ENV_PREFIX}DRIFT_INTERVAL": "soon"}, f"{ENV_PREFIX}DRIFT_INTERVAL"),
        ([], {f"{ENV_PREFIX}METRICS_PORT": "http"}, f"{ENV_PREFIX}METRICS_PORT"),
        (["--metrics-port", "70000"], {}, "--metrics-port"),
        (["--azure-budget-requests", "0"], {}, "--azure-budget-requests"),
        (["--credentials-retry-interval", "0s"], {}, "--credentials-retry-interval"),
        ([], {f"{ENV_PREFIX}ALLOW_HTTP": "maybe"}, f"{ENV_PREFIX}ALLOW_HTTP"),
        (["--allowed-hosts", "https://evil.example/path"], {}, "--allowed-hosts"),
        (["--namespace", "Bad_Name"], {}, "--namespace"),
        (["--log-level", "loud"], {}, "--log-level"),
        (["--peering", "Not A Name"], {}, "--peering"),
        (["--blocked-retry-base", "1h"], {}, "--blocked-retry-base"),
        (["--waiting-retry-min", "10m"], {}, "--waiting-retry-max"),
        (["--drift-interval", "1e300"], {}, "--drift-interval"),  # not an OverflowError
        ([], {f"{ENV_PREFIX}PEERING_LIFETIME": "99999999999999999s"}, f"{ENV_PREFIX}PEERING_LIFETIME"),
        (["--metrics-address", "not an ip"], {}, "--metrics-address: 'not an ip'"),
        ([], {f"{ENV_PREFIX}METRICS_ADDRESS": "10.1"}, f"{ENV_PREFIX}METRICS_ADDRESS: '10.1'"),
        (["--metrics-address", ""], {}, "--metrics-address"),
        (["--metrics-address", "[::1"], {}, "--metrics-address"),
        (
            ["--allowed-hosts", "127.0.0.1:8080,localhost:abc"],
            {},
            "--allowed-hosts: host pattern 'localhost:abc'",
        ),
        (["--allowed-hosts", "localhost:"], {}, "--allowed-hosts: host pattern 'localhost:'"),
        (["--allowed-hosts", "localhost:0"], {}, "--allowed-hosts: host pattern 'localhost:0'"),
        (["--allowed-hosts", "localhost:65536"], {}, "--allowed-hosts: host pattern 'localhost:65536'"),
        (["--allowed-hosts", "[::1]:"], {}, "--allowed-hosts: host pattern '[::1]:'"),
        (
            [],
            {f"{ENV_PREFIX}LOG_DOWNLOAD_HOSTS": "x.blob:abc"},
            f"{ENV_PREFIX}LOG_DOWNLOAD_HOSTS: host pattern",
        ),
    ],
)
def test_bad_values_name_the_flag_or_variable(argv: list[str], env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse(argv, env)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("30d", 30 * 86400),
        ("250ms", 0.25),
        ("1.5m", 90),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "m", "5x", "1h junk", "inf", "nan", "-", "36501d", "1e300", "9" * 30])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_workload_identity_namespaces_are_globs_with_exclusions() -> None:
    s = parse(["--workload-identity-namespaces", "team-*,!team-secret"])
    assert s.workload_identity_allowed("team-a")
    assert not s.workload_identity_allowed("team-secret")
    assert not s.workload_identity_allowed("default")
    assert not parse([]).workload_identity_allowed("default")


def test_settings_are_frozen() -> None:
    s = parse([])
    with pytest.raises(ValueError):
        s.drift_interval = timedelta(seconds=1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("0.0.0.0", "0.0.0.0"),
        ("127.0.0.1", "127.0.0.1"),
        ("::", "::"),
        ("[::1]", "::1"),
        ("localhost", "localhost"),
        ("Metrics.Example.com", "metrics.example.com"),
    ],
)
def test_metrics_address_is_an_ip_address_or_a_host_name(address: str, kept: str) -> None:
    assert parse(["--metrics-address", address]).metrics_address == kept


@pytest.mark.parametrize("pattern", ["localhost:1", "localhost:65535", "localhost:*", "[::1]:8080", "[::1]"])
def test_host_pattern_ports_from_1_to_65535(pattern: str) -> None:
    assert parse(["--allowed-hosts", pattern]).allowed_hosts == (pattern,)


def test_a_drift_interval_below_the_minimum_is_kept_and_warned_of() -> None:
    assert parse(["--drift-interval", "5s"]).drift_interval == timedelta(seconds=5)  # tests still pass it
    assert warnings_of(["--drift-interval", "5s"]) == [
        "--drift-interval 5s is below the minimum drift interval: 10s is used"
    ]
    assert warnings_of([], {f"{ENV_PREFIX}DRIFT_INTERVAL": "500ms"}) == [
        f"{ENV_PREFIX}DRIFT_INTERVAL 0.5s is below the minimum drift interval: 10s is used"
    ]
    assert warnings_of(["--drift-interval", "10s"]) == []
    assert warnings_of([]) == []
