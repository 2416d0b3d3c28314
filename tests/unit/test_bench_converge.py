"""The pure parts of `python -m bench.converge`: options, scaling, the ideal-time bound, the figures read from
the processes' outputs, and the table. The run itself is measured by hand (bench/README.md), not tested."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import cast

import pytest

from bench import plan, report


def options(*args: str) -> plan.Options:
    return plan.parse_options(["--kind", "speech", "--n", "100", "--deploy-seconds", "30", *args])


# --- options ------------------------------------------------------------------------------------------


def test_defaults_spread_n_over_resources_of_fifty() -> None:
    parsed = options()
    assert (parsed.kind, parsed.n, parsed.deploy_seconds) == ("speech", 100, 30.0)
    assert parsed.resources == 2
    assert parsed.rate_limit is None
    assert parsed.budget == plan.Budget(90, 10.0)  # the operator's own default
    assert parsed.quiet_seconds == 60.0
    assert parsed.timeout == 20 * 30 + 120
    assert plan.parse_options(["--kind", "voice", "--n", "101", "--deploy-seconds", "5"]).resources == 3


def test_rate_limit_budget_and_flags() -> None:
    parsed = options("--rate-limit", "100/10", "--budget", "45/5", "--quiet-seconds", "15", "--json")
    assert parsed.rate_limit == plan.Budget(100, 10.0)
    assert parsed.budget == plan.Budget(45, 5.0)
    assert parsed.effective_budget == plan.Budget(45, 5.0)
    assert (parsed.quiet_seconds, parsed.json_only) == (15.0, True)
    assert options("--rate-limit", "0").rate_limit is None
    assert options("--rate-limit", "20/10").effective_budget == plan.Budget(20, 10.0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--resources", "1"], "--resources"),
        (["--rate-limit", "fast"], "--rate-limit"),
        (["--budget", "0"], "--budget"),
        (["--quiet-seconds", "-1"], "--quiet-seconds"),
        (["--drift-interval", "often"], "--drift-interval"),
        (["--kind", "text"], "--kind"),
    ],
)
def test_bad_options_name_the_flag(args: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        options(*args)
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


def test_floor_waits_until_handled_and_skips_the_intervals() -> None:
    assert (options().floor, options().until, options().skip_restart) == (False, "Ready", False)
    parsed = options("--floor")
    assert (parsed.floor, parsed.until, parsed.skip_restart) == (True, "handled", True)


def test_apply_first_measures_from_the_operators_start() -> None:
    assert (options().apply_first, options().measured_from) == (False, "apply")
    parsed = options("--apply-first")
    assert (parsed.apply_first, parsed.measured_from, parsed.until) == (True, "operator start", "Ready")
    assert parsed.skip_restart is False  # the quiet interval and the restart stay
    floor = options("--apply-first", "--floor")
    assert (floor.measured_from, floor.until) == ("operator start", "handled")


@pytest.mark.parametrize("args", [["--rate-limit", "100/10"], ["--operator-arg=--log-level=debug"]])
def test_floor_refuses_what_only_the_operator_uses(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        options("--floor", *args)
    assert f"{args[0].split('=')[0]}: not with --floor" in capsys.readouterr().err


# --- scaling ------------------------------------------------------------------------------------------


def test_time_scale_makes_a_deployment_take_d() -> None:
    assert options().time_scale == pytest.approx(30 / 330)  # speech: 30 s queue + 300 s deploy
    voice = plan.parse_options(["--kind", "voice", "--n", "1", "--deploy-seconds", "31"])
    assert voice.time_scale == pytest.approx(0.1)  # voice: 10 s queue + 300 s deploy


def test_operator_settings_scaled_like_the_deployment() -> None:
    scaled = plan.scaled_settings(options("--deploy-seconds", "33"))  # scale 0.1
    assert scaled["deploy_poll_interval"] == timedelta(seconds=1.5)
    assert scaled["drift_interval"] == timedelta(seconds=360)
    assert scaled["waiting_retry_min"] == timedelta(seconds=6)
    args = plan.operator_args(options("--deploy-seconds", "33", "--drift-interval", "1h"))
    assert args[args.index("--deploy-poll-interval") + 1] == "1.500s"
    assert args[args.index("--drift-interval") + 1] == "3600.000s"
    assert args[-4:] == ["--azure-budget-requests", "90", "--azure-budget-window", "10s"]
    extra = plan.operator_args(options("--operator-arg=--log-level=debug", "--operator-arg=--peering=p"))
    assert extra[-2:] == ["--log-level=debug", "--peering=p"]
    assert ("deploy-poll-interval", "15s -> 1.5s") in plan.describe_scaling(options("--deploy-seconds", "33"))


def test_simulator_resources_namespaces_and_manifests() -> None:
    parsed = options("--n", "5", "--resources", "2")
    assert plan.placement(5, 2) == [0, 0, 0, 1, 1]
    assert plan.simulator_args(parsed) == ["--resource", "r0001=bench-key-0001", "--rate-limit", "0"]
    setup = plan.setup_manifests(parsed)
    assert [(d["kind"], d["metadata"].get("namespace")) for d in setup] == [
        ("Namespace", None),
        ("Secret", "bench-0000"),
        ("Namespace", None),
        ("Secret", "bench-0001"),
    ]
    assert setup[3]["stringData"] == {"key": "bench-key-0001"}
    docs = plan.endpoint_manifests(parsed, "http://127.0.0.1:9")
    assert [d["metadata"]["namespace"] for d in docs] == ["bench-0000"] * 3 + ["bench-0001"] * 2
    assert docs[0]["spec"]["azure"]["endpoint"] == "http://127.0.0.1:9"
    assert docs[0]["spec"]["model"] == {"baseModelId": plan.BASE_EN_US_CURRENT}
    voice = plan.endpoint_manifests(
        plan.parse_options(["--kind", "voice", "--n", "1", "--deploy-seconds", "1"]), "u"
    )
    assert voice[0]["kind"] == "VoiceEndpoint"
    assert voice[0]["spec"]["modelId"] == plan.VOICE_MODEL


# --- the ideal ----------------------------------------------------------------------------------------


def test_budget_that_does_not_bind_gives_d() -> None:
    assert plan.budget_bound(50, 30, plan.Budget(90, 10)) == 30
    assert plan.ideal_seconds(options()) == 30


def test_budget_bound_when_creates_fill_windows() -> None:
    # 25 creates at 10 per 10 s: at 0, 10, 20; the last create's read at 20 + 5 = 25, but reads queue
    # behind the window: 50 calls at 10 per 10 s need the window of 40-50 s for the last ten
    assert plan.budget_bound(25, 5, plan.Budget(10, 10)) == 40
    # a long deployment: the last create (at 20 s) plus D, the reads fitting in the windows after
    assert plan.budget_bound(25, 100, plan.Budget(10, 10)) == 120
    assert plan.budget_bound(1, 7, plan.Budget(1, 10)) == 10  # the read waits for the window


def test_ideal_uses_the_fullest_resource_and_the_tighter_budget() -> None:
    parsed = options("--n", "100", "--deploy-seconds", "5", "--rate-limit", "10/10", "--resources", "2")
    assert parsed.effective_budget == plan.Budget(10, 10.0)
    assert plan.ideal_seconds(parsed) == plan.budget_bound(50, 5, plan.Budget(10, 10))
    assert plan.ideal_seconds(parsed) > 5


# --- figures ------------------------------------------------------------------------------------------


def sample(group: str, resource: str, subresource: str, verb: str, value: int) -> str:
    labels = (
        f'code="200",component="apiserver",dry_run="",group="{group}",resource="{resource}",scope="resource",'
        f'subresource="{subresource}",verb="{verb}",version="v1"'
    )
    return f"apiserver_request_total{{{labels}}} {value}"


SPEECH = "speech.azure-operator.io"
METRICS = "\n".join(
    [
        "# HELP apiserver_request_total [STABLE] Counter of apiserver requests",
        "# TYPE apiserver_request_total counter",
        sample(SPEECH, "speechendpoints", "", "PATCH", 7),
        sample(SPEECH, "speechendpoints", "status", "PATCH", 3),
        sample("", "events", "", "POST", 4),
        sample("coordination.k8s.io", "leases", "", "PUT", 9),
        sample("", "secrets", "", "GET", 11),
        sample(SPEECH, "speechendpoints", "", "APPLY", 2),
        "",
    ]
)


def test_apiserver_writes_by_verb_and_resource_without_reads_and_leases() -> None:
    assert report.apiserver_writes(METRICS) == Counter(
        {
            "PATCH speechendpoints": 7,
            "PATCH speechendpoints/status": 3,
            "POST events": 4,
            "APPLY speechendpoints": 2,
        }
    )
    before = Counter({"PATCH speechendpoints": 5, "POST events": 4})
    assert report.writes_between(
        before, report.apiserver_writes(METRICS), {"APPLY speechendpoints": 2}
    ) == Counter({"PATCH speechendpoints": 2, "PATCH speechendpoints/status": 3})


def test_apiserver_reads_of_one_object_only() -> None:
    metrics = METRICS + "\n".join(
        [
            sample("", "", "", "GET", 5),
            sample("", "", "/openapi/v3", "GET", 2),
            sample(SPEECH, "speechendpoints", "", "WATCH", 3),
            "",
        ]
    )
    assert report.apiserver_reads(metrics) == Counter({"GET secrets": 11})


def test_azure_calls_statuses_and_writes() -> None:
    requests = {
        "total": 9,
        "operations": {"Endpoints_Create": {"201": 2, "429": 1}, "Endpoints_Get": {"200": 5, "429": 1}},
    }
    calls = report.azure_calls(requests)
    assert calls == Counter({"Endpoints_Create": 3, "Endpoints_Get": 6})
    assert report.azure_status_count(requests, "429") == 2
    assert report.azure_writes(calls) == 3
    assert (
        report.azure_writes({"CustomVoice.Endpoints_Suspend": 1, "Endpoints_DeleteLogs": 2, "Models_Get": 4})
        == 3
    )
    assert report.per_resource(calls, 4) == {"Endpoints_Create": 0.75, "Endpoints_Get": 1.5}


def test_proc_figures() -> None:
    assert report.peak_rss_mb("Name:\tx\nVmHWM:\t  204800 kB\nVmRSS:\t 1024 kB\n") == 200.0
    stat = "4242 (azure speech) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0"
    assert report.cpu_seconds(stat, 100) == 3.0


def test_log_levels() -> None:
    text = (
        "[2026-12-06 07:00:01,234] azure_speech_operator.x [INFO] [SpeechEndpoint a/b] Created\n"
        "[2026-12-06 07:00:02,234] kopf.objects [WARNING] [a/b] slow\n"
        "=== 07:00:00 start: azure-speech-operator run\n"
        "\n"
        "[2026-12-06 07:00:03,000] kopf.objects [ERROR] [a/b] failed\n"
    )
    levels = report.log_levels(text)
    assert levels == Counter({"INFO": 1, "WARNING": 1, "ERROR": 1, "other": 1})
    assert report.log_lines(levels) == 3


# --- what the run waits for ---------------------------------------------------------------------------


def endpoint(annotations: dict[str, str] | None = None, **ready: object) -> dict[str, object]:
    meta: dict[str, object] = {"name": "a", "namespace": "n", "generation": 2}
    if annotations is not None:
        meta["annotations"] = annotations
    conditions = [{"type": "Ready", **ready}] if ready else []
    return {"metadata": meta, "status": {"conditions": conditions}}


def test_ready_for_the_current_generation_only() -> None:
    assert report.is_ready(endpoint(status="True", observedGeneration=2))
    assert report.is_ready(endpoint(status="True"))
    assert not report.is_ready(endpoint(status="True", observedGeneration=1))
    assert not report.is_ready(endpoint(status="False", observedGeneration=2))
    assert not report.is_ready({"metadata": {"name": "a"}})
    assert report.done_check("Ready") is report.is_ready


def test_handled_when_kopf_wrote_its_last_handled_record() -> None:
    # what kopf wrote on a handled create on the real apiserver, with the operator's kopf settings
    handled = endpoint({"kopf.speech.azure-operator.io/last-handled-configuration": '{"spec":{}}'})
    assert report.is_handled(handled)
    assert not report.is_handled(endpoint({"kopf.zalando.org/last-handled-configuration": "{}"}))
    assert not report.is_handled(endpoint())
    assert not report.is_handled(endpoint({}))
    assert report.done_check("handled") is report.is_handled


# --- the table ----------------------------------------------------------------------------------------


def result(restart: bool = True) -> dict[str, object]:
    interval = {"seconds": 60.0, "azure_calls": {"Endpoints_Get": 18}, "azure_writes": 0, "kube_writes": {}}
    return {
        "kind": "speech",
        "n": 100,
        "deploy_seconds": 30.0,
        "resources": 2,
        "rate_limit": None,
        "budget": "90/10",
        "machine": {"cpus": 2, "date": "2026-12-06"},
        "converge": {
            "all_ready_seconds": 36.04,
            "median_ready_seconds": 33.0,
            "slowest_from_creation_seconds": 33.6,
            "apply_seconds": 1.5,
            "ideal_seconds": 30.0,
            "ratio": 1.201,
            "azure_calls_total": 400,
            "azure_calls_per_resource": {"Endpoints_Create": 1.0, "Endpoints_Get": 3.0},
            "azure_429": 0,
            "kube_writes_total": 650,
            "kube_writes_per_resource": {"PATCH speechendpoints": 4.0, "POST events": 2.5},
            "log_lines_per_resource": 5.0,
            "cpu_seconds": 12.0,
        },
        "operator": {"peak_rss_mb": 120.4},
        "quiet": {**interval, "expected_drift_reads": 18.2},
        "restart": {**interval, "azure_calls": {"Endpoints_Get": 30}} if restart else None,
        "logs": {"ERROR": 0, "WARNING": 1},
    }


def test_table_rows_and_alignment() -> None:
    rows = dict(report.table_rows(result()))
    assert rows["all Ready after (from the apply)"] == "36.0 s (apply took 1.5 s)"
    assert rows["median Ready after (from the apply)"] == "33.0 s"
    assert rows["log lines per resource (apply to Ready)"] == "5.0"
    assert rows["ratio"] == "1.20"
    assert rows["slowest from its creation to Ready"] == "33.6 s (1.12 x the ideal)"
    assert rows["Azure calls per resource"] == "4.00: Endpoints_Create 1, Endpoints_Get 3"
    assert rows["Kubernetes writes per resource"] == "6.50: PATCH speechendpoints 4, POST events 2.5"
    assert rows["operator CPU apply to Ready"] == "12.0 s (120 ms per resource)"
    assert rows["quiet 60 s: Azure calls"] == "18 (Endpoints_Get 18); writes 0; drift reads expected 18.2"
    assert rows["quiet 60 s: Kubernetes writes"] == "0 (none)"
    assert rows["after restart 60 s: Azure calls"] == "30 (Endpoints_Get 30); writes 0"
    assert rows["ERROR / WARNING log lines (whole run)"] == "0 / 1"
    lines = report.format_table(result()).splitlines()
    assert len(lines) == len(rows)
    width = max(len(name) for name in rows)
    assert all(line[width : width + 2] == "  " and line[width + 2] != " " for line in lines)
    assert "after restart" not in report.format_table(result(restart=False))


def test_the_slowest_object_is_timed_from_its_creation_or_the_start_if_it_was_there_before() -> None:
    seen = {"a": 10.0, "b": 12.0, "c": 40.0, "old": 1.0}
    done = {"a": 45.0, "b": 41.0, "c": 71.5, "old": 30.0}
    assert report.slowest_since_seen(seen, done, start=5.0) == 35.0  # a: 45 - 10
    assert report.slowest_since_seen({"c": 40.0}, {"c": 71.5}, start=5.0) == 31.5
    # there before the start (applied first): from the start
    assert report.slowest_since_seen({"old": 1.0}, {"old": 30.0}, start=5.0) == 25.0
    # a result without the figure (an older JSON line) still renders
    older = result()
    del older["converge"]["slowest_from_creation_seconds"]  # type: ignore[attr-defined]
    assert dict(report.table_rows(older))["slowest from its creation to Ready"] == "n/a"


def test_apply_first_table_counts_from_the_operators_start() -> None:
    rows = dict(report.table_rows({**result(), "measured_from": "operator start"}))
    assert rows["all Ready after (from the operator's start)"] == "36.0 s (the apply before it took 1.5 s)"
    assert rows["median Ready after (from the operator's start)"] == "33.0 s"
    assert rows["log lines per resource (start to Ready)"] == "5.0"
    assert rows["operator CPU start to Ready"] == "12.0 s (120 ms per resource)"
    assert rows["ratio"] == "1.20"
    assert rows["slowest from its creation to Ready"] == "33.6 s (1.12 x the ideal)"
    assert not [name for name in rows if "apply" in name]


def floor_result() -> dict[str, object]:
    base = result(restart=False)
    converge = dict(cast(dict[str, object], base["converge"]))
    converge.update(
        dict.fromkeys(
            ("ideal_seconds", "ratio", "azure_calls_total", "azure_calls_per_resource", "azure_429")
        )
    )
    return {**base, "floor": True, "until": "handled", "converge": converge, "quiet": None}


def test_floor_table_shows_azure_figures_not_applicable() -> None:
    rows = dict(report.table_rows(floor_result()))
    assert (
        rows["run"]
        == "100 speech endpoints, D=30 s, kopf's floor (one on-create handler that does nothing), no Azure"
    )
    assert rows["all handled after (from the apply)"] == "36.0 s (apply took 1.5 s)"
    assert rows["median handled after (from the apply)"] == "33.0 s"
    for figure in ("ideal", "ratio", "Azure calls per resource", "429s received"):
        assert rows[figure] == "n/a (floor: no Azure)"
    assert rows["Kubernetes writes per resource"] == "6.50: PATCH speechendpoints 4, POST events 2.5"
    assert rows["log lines per resource (apply to handled)"] == "5.0"
    assert rows["operator CPU apply to handled"] == "12.0 s (120 ms per resource)"
    assert rows["operator peak RSS"] == "120 MB"
    assert not [name for name in rows if name.startswith(("quiet", "after restart"))]
    assert len(report.format_table(floor_result()).splitlines()) == len(rows)


def test_results_row_matches_the_header() -> None:
    row = report.results_row(result(), "abc1234")
    assert row.count("|") == report.RESULTS_HEADER.count("|")
    assert row.startswith(
        "| 2026-12-06 | abc1234 | speech | 100 | 30 s | off | 36.0 s | 30.0 s | 1.20 | 4.00 | 0 | 6.50 |"
    )
    assert "| 18 (18) / 0 | 30 / 0 | 0 / 1 |" in row
    assert "| - |" in report.results_row(result(restart=False), "c")
