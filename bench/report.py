"""Figures of a convergence run from what the processes expose, and the run's table. Pure: every function
takes text or data already read (the simulator's /_sim/requests, the kube-apiserver's /metrics, the
operator's /proc files and log) and returns numbers or lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from azure_speech_operator.reconcile import KOPF_PREFIX
from prometheus_client.parser import text_string_to_metric_families

# The apiserver's `verb` label of requests that change something (apiserver_request_total).
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY", "CREATE", "UPDATE"})
READ_VERBS = frozenset({"GET"})
# Written by the control plane itself (the apiserver's identity leases, every 10 s), not by the operator.
BACKGROUND_GROUPS = frozenset({"coordination.k8s.io"})
_AZURE_WRITE = re.compile(r"_(Create|Update|Delete\w*|Suspend|Resume)$")
_LEVEL = re.compile(r"^\[[^\]]*\] \S+ \[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]")
# What kopf writes on an object once its handlers for a change have all run (its diff-base storage, with
# the operator's kopf settings: annotations under KOPF_PREFIX); `--floor` waits for it.
HANDLED_ANNOTATION = f"{KOPF_PREFIX}/last-handled-configuration"
NOT_APPLICABLE = "n/a (floor: no Azure)"
# The run's `measured_from` -> (what the times count from, the start of the CPU and log figures, the apply's
# time as the table names it).
ORIGINS = {
    "apply": ("the apply", "apply", "apply took"),
    "operator start": ("the operator's start", "start", "the apply before it took"),
}


# --- what the run waits for ---------------------------------------------------------------------------


def is_ready(obj: Mapping[str, Any]) -> bool:
    """Ready=True for the object's current generation (or a condition that names none)."""
    meta = obj["metadata"]
    ready = False
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            observed = condition.get("observedGeneration")
            current = observed is None or observed == meta.get("generation")
            ready = condition.get("status") == "True" and current
    return ready


def is_handled(obj: Mapping[str, Any]) -> bool:
    """kopf has run the object's handlers (its last-handled record is there)."""
    return HANDLED_ANNOTATION in (obj["metadata"].get("annotations") or {})


def done_check(until: str) -> Callable[[Mapping[str, Any]], bool]:
    """The check of `Options.until`: "Ready" or "handled"."""
    return {"Ready": is_ready, "handled": is_handled}[until]


# --- Kubernetes writes --------------------------------------------------------------------------------


def apiserver_writes(metrics_text: str) -> Counter[str]:
    """Writes counted by the kube-apiserver since it started, from its /metrics text: `VERB resource` or
    `VERB resource/subresource` -> requests (any response code), without the control plane's own leases."""
    return apiserver_requests(metrics_text, WRITE_VERBS)


def apiserver_reads(metrics_text: str) -> Counter[str]:
    """Reads of one object (`GET resource`) counted since the apiserver started; lists and watches (kopf's
    and the bench's own streams) and paths that are no resource (the bench's /metrics) left out."""
    reads = apiserver_requests(metrics_text, READ_VERBS)
    # a path that is no resource has its path as subresource: "GET /api" (kubectl's discovery)
    return Counter({k: v for k, v in reads.items() if _is_resource(k.removeprefix("GET "))})


def _is_resource(what: str) -> bool:
    return bool(what) and not what.startswith("/")


def apiserver_requests(metrics_text: str, verbs: frozenset[str]) -> Counter[str]:
    """Requests with one of `verbs` since the apiserver started, by `VERB resource[/subresource]`."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "apiserver_request":  # the parser drops the counter's _total
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            labels = sample.labels
            if labels.get("verb") not in verbs or labels.get("group") in BACKGROUND_GROUPS:
                continue
            what = labels.get("resource", "")
            if labels.get("subresource"):
                what += "/" + labels["subresource"]
            counts[f"{labels['verb']} {what}"] += int(sample.value)
    return counts


def writes_between(
    before: Counter[str], after: Counter[str], own: Mapping[str, int] | None = None
) -> Counter[str]:
    """The writes made between two readings, less the bench's own (e.g. its `APPLY speechendpoints`)."""
    delta = Counter(after)
    delta.subtract(before)
    delta.subtract(own or {})
    return Counter({k: v for k, v in delta.items() if v > 0})


# --- Azure calls --------------------------------------------------------------------------------------


def azure_calls(requests: Mapping[str, Any]) -> Counter[str]:
    """Calls per operation (every status) from the simulator's GET /_sim/requests."""
    return Counter(
        {op: sum(by_status.values()) for op, by_status in (requests.get("operations") or {}).items()}
    )


def azure_status_count(requests: Mapping[str, Any], status: str) -> int:
    return sum(by_status.get(status, 0) for by_status in (requests.get("operations") or {}).values())


def azure_writes(calls: Mapping[str, int]) -> int:
    """Calls that change something in Azure (creates, updates, deletes, suspends, resumes)."""
    return sum(count for op, count in calls.items() if _AZURE_WRITE.search(op))


def _slowest(seconds: float | None, ideal: float | None) -> str:
    if seconds is None:
        return "n/a"  # a JSON line from before the figure
    return f"{seconds:.1f} s" + (f" ({seconds / ideal:.2f} x the ideal)" if ideal else "")


def per_resource(counts: Mapping[str, int], n: int) -> dict[str, float]:
    return {key: round(value / n, 2) for key, value in sorted(counts.items())}


def slowest_since_seen(seen: Mapping[str, float], done: Mapping[str, float], start: float) -> float:
    """The longest any object took from when the bench first saw it (its creation, as the bench's watch
    delivered it; `start` for objects there before) until it was done: what the operator took for the
    slowest object, whatever the pace of the apply that created them."""
    return max(when - max(seen.get(key, start), start) for key, when in done.items())


# --- the operator process ------------------------------------------------------------------------------


def peak_rss_mb(proc_status: str) -> float:
    """VmHWM (the peak resident set) of /proc/PID/status, in MB."""
    match = re.search(r"^VmHWM:\s+(\d+) kB", proc_status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else 0.0


def cpu_seconds(proc_stat: str, ticks_per_second: int) -> float:
    """User plus system CPU time of /proc/PID/stat (fields 14 and 15; the name in parentheses may hold
    spaces, so count from its closing parenthesis)."""
    fields = proc_stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


# --- logs ---------------------------------------------------------------------------------------------


def log_levels(text: str) -> Counter[str]:
    """Lines of the operator's text log by level (`[time] logger [LEVEL] ...`); other lines as `other`."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LEVEL.match(line)
        counts[match.group(1) if match else "other"] += 1
    return counts


def log_lines(levels: Mapping[str, int]) -> int:
    return sum(count for level, count in levels.items() if level != "other")


# --- the table ----------------------------------------------------------------------------------------


def _ops(calls: Mapping[str, float]) -> str:
    return ", ".join(f"{op} {value:g}" for op, value in calls.items()) or "none"


def table_rows(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) rows of one run's result, as `format_table` prints them. A `--floor` run (kopf's
    floor: no Azure, no quiet interval or restart) shows the Azure figures as not applicable."""
    c, q, r, o = result["converge"], result.get("quiet"), result.get("restart"), result["operator"]
    n = result["n"]
    until = result.get("until", "Ready")
    floor = result.get("floor", False)
    origin, start, applied = ORIGINS[result.get("measured_from", "apply")]
    what = (
        "kopf's floor (one on-create handler that does nothing), no Azure"
        if floor
        else f"{result['resources']} Speech resources, rate limit {result['rate_limit'] or 'off'}, "
        f"budget {result['budget']}"
    )
    rows = [
        ("run", f"{n} {result['kind']} endpoints, D={result['deploy_seconds']:g} s, {what}"),
        (
            f"all {until} after (from {origin})",
            f"{c['all_ready_seconds']:.1f} s ({applied} {c['apply_seconds']:.1f} s)",
        ),
        (f"median {until} after (from {origin})", f"{c['median_ready_seconds']:.1f} s"),
        ("ideal", NOT_APPLICABLE if floor else f"{c['ideal_seconds']:.1f} s"),
        ("ratio", NOT_APPLICABLE if floor else f"{c['ratio']:.2f}"),
        (
            f"slowest from its creation to {until}",
            _slowest(c.get("slowest_from_creation_seconds"), None if floor else c["ideal_seconds"]),
        ),
        (
            "Azure calls per resource",
            NOT_APPLICABLE
            if floor
            else f"{c['azure_calls_total'] / n:.2f}: {_ops(c['azure_calls_per_resource'])}",
        ),
        ("429s received", NOT_APPLICABLE if floor else str(c["azure_429"])),
        (
            "Kubernetes writes per resource",
            f"{c['kube_writes_total'] / n:.2f}: {_ops(c['kube_writes_per_resource'])}",
        ),
        (
            "Kubernetes reads per resource",
            f"{sum(c.get('kube_reads_per_resource', {}).values()):.2f}: "
            f"{_ops(c.get('kube_reads_per_resource', {}))}",
        ),
        (f"log lines per resource ({start} to {until})", f"{c['log_lines_per_resource']:.1f}"),
        (
            f"operator CPU {start} to {until}",
            f"{c['cpu_seconds']:.1f} s ({c['cpu_seconds'] / n * 1000:.0f} ms per resource)",
        ),
        ("operator peak RSS", f"{o['peak_rss_mb']:.0f} MB"),
    ]
    if q is not None:
        rows += [
            (
                f"quiet {q['seconds']:g} s: Azure calls",
                f"{sum(q['azure_calls'].values())} ({_ops(q['azure_calls'])}); writes {q['azure_writes']}; "
                f"drift reads expected {q['expected_drift_reads']:.1f}",
            ),
            (
                f"quiet {q['seconds']:g} s: Kubernetes writes",
                f"{sum(q['kube_writes'].values())} ({_ops(q['kube_writes'])})",
            ),
        ]
    if r is not None:
        rows += [
            (
                f"after restart {r['seconds']:g} s: Azure calls",
                f"{sum(r['azure_calls'].values())} ({_ops(r['azure_calls'])}); writes {r['azure_writes']}",
            ),
            (
                f"after restart {r['seconds']:g} s: Kubernetes writes",
                f"{sum(r['kube_writes'].values())} ({_ops(r['kube_writes'])})",
            ),
        ]
    logs = result["logs"]
    rows.append(("ERROR / WARNING log lines (whole run)", f"{logs['ERROR']} / {logs['WARNING']}"))
    return rows


def format_table(result: Mapping[str, Any]) -> str:
    rows = table_rows(result)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


RESULTS_HEADER = (
    "| date | commit | kind | N | D | rate limit | all Ready | ideal | ratio | Azure calls / res | 429s "
    "| kube writes / res | log lines / res | CPU s | peak RSS | quiet: Azure calls (expected) / kube writes "
    "| restart: Azure calls / kube writes | ERROR / WARNING |"
)


def results_row(result: Mapping[str, Any], commit: str) -> str:
    """One row of bench/README.md's results table (RESULTS_HEADER) for a run of `commit`."""
    c, q, r, o = result["converge"], result["quiet"], result.get("restart"), result["operator"]
    n = result["n"]
    restart = "-" if r is None else f"{sum(r['azure_calls'].values())} / {sum(r['kube_writes'].values())}"
    cells: Iterable[str] = (
        result["machine"]["date"],
        commit,
        result["kind"],
        f"{n:,}",
        f"{result['deploy_seconds']:g} s",
        result["rate_limit"] or "off",
        f"{c['all_ready_seconds']:.1f} s",
        f"{c['ideal_seconds']:.1f} s",
        f"{c['ratio']:.2f}",
        f"{c['azure_calls_total'] / n:.2f}",
        str(c["azure_429"]),
        f"{c['kube_writes_total'] / n:.2f}",
        f"{c['log_lines_per_resource']:.1f}",
        f"{c['cpu_seconds']:.0f}",
        f"{o['peak_rss_mb']:.0f} MB",
        f"{sum(q['azure_calls'].values())} ({q['expected_drift_reads']:.0f}) / "
        f"{sum(q['kube_writes'].values())}",
        restart,
        f"{result['logs']['ERROR']} / {result['logs']['WARNING']}",
    )
    return "| " + " | ".join(cells) + " |"
