"""`python -m bench.converge --kind speech|voice --n N --deploy-seconds D ...`: the operator at scale.

Starts the real control plane, the Azure simulator and the operator as a user runs them (the e2e harness's
Kube, Simulator and Operator: the operator's console command under deploy/'s RBAC), applies N resources in
one server-side `kubectl apply`, and measures until every one is Ready; then a quiet interval and an operator
restart. Prints one JSON line and a table (bench/README.md explains each figure and how it is measured).
`--floor` runs kopf's floor (bench/floor_operator.py) instead of the operator and waits until kopf has handled
every object, with no simulator, quiet interval or restart. `--apply-first` applies the N resources before the
operator (or the floor) starts and measures from its start."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench import plan, report
from tests.e2e.harness import HarnessError, Kube, Operator, Process, Simulator, free_port, wait_for

# The endpoint the floor's manifests name: nothing calls it (no operator reads them), nothing listens there.
FLOOR_AZURE_URL = "http://127.0.0.1:9"


def progress(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


class ReadyWatch:
    """Watches the kind cluster-wide (as the admin) and notes when each object is first seen done (Ready for
    its current generation, or with `--floor` handled by kopf: `report.done_check`), by the bench's monotonic
    clock; `ready_now` is the latest view."""

    def __init__(self, kubeconfig: Path, plural: str, until: str = "Ready") -> None:
        from kubernetes import client, config

        self.api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))
        self.plural = plural
        self.done = report.done_check(until)
        self.first_seen: dict[str, float] = {}
        self.first_ready: dict[str, float] = {}
        self.ready_now: dict[str, bool] = {}
        self.synced = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ready-watch", daemon=True)

    def start(self) -> ReadyWatch:
        self.thread.start()
        if not self.synced.wait(30):
            raise RuntimeError(f"could not list {self.plural}")
        return self

    def stop(self) -> None:
        self.stopped.set()

    def ready_count(self) -> int:
        return sum(self.ready_now.values())

    def _see(self, obj: dict[str, Any], deleted: bool = False) -> None:
        meta = obj["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        ready = self.done(obj)
        self.first_seen.setdefault(key, time.monotonic())
        self.ready_now[key] = ready and not deleted
        if ready:
            self.first_ready.setdefault(key, time.monotonic())

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version: str | None = None
        while not self.stopped.is_set():
            try:
                if version is None:
                    listed: dict[str, Any] = self.api.list_cluster_custom_object(
                        plan.GROUP, plan.VERSION, self.plural
                    )
                    for obj in listed["items"]:
                        self._see(obj)
                    version = listed["metadata"]["resourceVersion"]
                    self.synced.set()
                stream = watch.Watch().stream(
                    self.api.list_cluster_custom_object,
                    plan.GROUP,
                    plan.VERSION,
                    self.plural,
                    resource_version=version,
                    timeout_seconds=30,
                )
                for event in stream:
                    obj = event["object"]
                    version = obj["metadata"]["resourceVersion"]
                    self._see(obj, deleted=event["type"] == "DELETED")
                    if self.stopped.is_set():
                        return
            except ApiException as exc:
                if exc.status != 410:  # 410: the version is too old; list again
                    progress(f"watch of {self.plural} failed ({exc.status}); listing again")
                    time.sleep(1)
                version = None
            except Exception as exc:  # the control plane is stopping, or a connection dropped
                if self.stopped.is_set():
                    return
                progress(f"watch of {self.plural}: {exc!r}; listing again")
                time.sleep(1)
                version = None


class FloorOperator:
    """`python -m bench.floor_operator` (kopf's floor) with the operator's kubeconfig, as `Operator` runs
    ours: the same log handling, ready once /readyz answers (kopf watches the kind)."""

    def __init__(self, workdir: Path, kubeconfig: Path, kind: plan.KindName) -> None:
        self.kubeconfig = kubeconfig
        self.kind = kind
        self.log_path = workdir / "floor-operator.log"
        self.process: Process | None = None

    def start(self, timeout: float = 60.0) -> FloorOperator:
        port = free_port()
        argv = [sys.executable, "-m", "bench.floor_operator", "--kind", self.kind]
        argv += ["--metrics-port", str(port)]
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), PYTHONUNBUFFERED="1")
        process = self.process = Process("floor-operator", argv, self.log_path, env)
        process.start()

        def ready() -> bool:
            if not process.running:
                raise HarnessError(f"the floor operator exited:\n{process.log_text()[-4000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout, "the floor operator's /readyz")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(30)

    def logs(self, since: int = 0) -> str:
        return self.process.log_text(since) if self.process else ""

    def log_size(self) -> int:
        return self.process.log_size() if self.process else 0


class Probe:
    """What the bench reads at each mark: the apiserver's writes, the operator's /proc and log size."""

    def __init__(self, kube: Kube, operator: Operator | FloorOperator) -> None:
        self.kube, self.operator = kube, operator

    def writes(self) -> Any:
        return report.apiserver_writes(self.kube.kubectl("get", "--raw", "/metrics").stdout)

    def writes_and_reads(self) -> tuple[Any, Any]:
        text = self.kube.kubectl("get", "--raw", "/metrics").stdout
        return report.apiserver_writes(text), report.apiserver_reads(text)

    def proc(self, name: str) -> str:
        assert self.operator.process is not None and self.operator.process.proc is not None
        return Path(f"/proc/{self.operator.process.proc.pid}/{name}").read_text()

    def cpu(self) -> float:
        return report.cpu_seconds(self.proc("stat"), os.sysconf("SC_CLK_TCK"))


def error_warning_lines(operator: Operator | FloorOperator) -> dict[str, int]:
    """ERROR and WARNING lines in the operator's whole log."""
    levels = report.log_levels(operator.logs())
    return {level: levels.get(level, 0) for level in ("ERROR", "WARNING")}


class Run:
    def __init__(self, options: plan.Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.kind, self.plural = plan.KINDS[options.kind]

    def execute(self) -> dict[str, Any]:
        options = self.options
        kube = Kube(self.workdir)
        simulator = (
            None
            if options.floor
            else Simulator(
                self.workdir,
                keys=(plan.resource_key(0),),
                time_scale=options.time_scale,
                extra_args=plan.simulator_args(options),
            )
        )
        operator: Operator | FloorOperator | None = None
        try:
            progress("starting the control plane")
            kube.start()
            kube.apply_crds()
            kubeconfig = kube.operator_kubeconfig()
            if simulator is not None:
                simulator.start()
            kube.apply(plan.setup_manifests(options))
            if simulator is None:
                operator = FloorOperator(self.workdir, kubeconfig, options.kind)
                self._start_unless_applying_first(operator, "kopf's floor operator")
                return self._floor(kube, operator)
            progress(f"simulator at {simulator.url} (time scale {options.time_scale:.5f})")
            operator = Operator(self.workdir, kubeconfig, extra_args=plan.operator_args(options))
            self._start_unless_applying_first(operator, "operator")
            return self._measure(kube, simulator, operator)
        finally:
            if operator is not None:
                operator.stop()
            if simulator is not None:
                simulator.stop()
            kube.stop()

    def _start_unless_applying_first(self, operator: Operator | FloorOperator, what: str) -> None:
        if self.options.apply_first:
            progress(f"{what} not started yet: --apply-first starts it after the apply")
        else:
            operator.start()
            progress(f"{what} ready")

    def _watch(self, kube: Kube, azure_url: str) -> tuple[Path, ReadyWatch]:
        """The manifest of the N objects, and the watch of their kind (started, listed)."""
        manifest = self.workdir / "endpoints.yaml"
        manifest.write_text(
            yaml.safe_dump_all(plan.endpoint_manifests(self.options, azure_url), sort_keys=False)
        )
        return manifest, ReadyWatch(kube.kubeconfig, self.plural, self.options.until).start()

    def _floor(self, kube: Kube, operator: FloorOperator) -> dict[str, Any]:
        probe = Probe(kube, operator)
        manifest, watcher = self._watch(kube, FLOOR_AZURE_URL)
        try:
            result = self._converge(kube, None, operator, probe, watcher, manifest)
        finally:
            watcher.stop()
        result["operator"] = {"peak_rss_mb": report.peak_rss_mb(probe.proc("status"))}
        result["logs"] = error_warning_lines(operator)
        return result

    def _measure(self, kube: Kube, simulator: Simulator, operator: Operator) -> dict[str, Any]:
        options = self.options
        probe = Probe(kube, operator)
        manifest, watcher = self._watch(kube, simulator.url)
        try:
            result = self._converge(kube, simulator, operator, probe, watcher, manifest)
            result["quiet"] = self._interval(simulator, probe, options.quiet_seconds)
            # the peak over the operator's life: apply, convergence and the quiet interval
            result["operator"] = {"peak_rss_mb": report.peak_rss_mb(probe.proc("status"))}
            result["quiet"]["expected_drift_reads"] = round(
                options.n
                * options.quiet_seconds
                / plan.scaled_settings(options)["drift_interval"].total_seconds(),
                1,
            )
            if not options.skip_restart:
                progress("restarting the operator")
                operator.stop()
                result["restart"] = self._interval(
                    simulator, probe, options.quiet_seconds, start=operator.start
                )
                result["restart"]["still_ready"] = watcher.ready_count()
            result["logs"] = error_warning_lines(operator)
            return result
        finally:
            watcher.stop()

    def _converge(
        self,
        kube: Kube,
        simulator: Simulator | None,
        operator: Operator | FloorOperator,
        probe: Probe,
        watcher: ReadyWatch,
        manifest: Path,
    ) -> dict[str, Any]:
        """From the apply (or, with --apply-first, from the operator's start after it) until every object is
        done; `simulator` None: kopf's floor, no Azure figures."""
        options = self.options
        until = options.until
        if options.apply_first:
            applied = self._apply(kube, manifest)
        if simulator is not None:
            simulator.reset_requests()
        (writes0, reads0), log0 = probe.writes_and_reads(), operator.log_size()
        # --apply-first: the operator starts below, so its CPU is all of its life from there
        cpu0 = 0.0 if options.apply_first else probe.cpu()
        started = time.monotonic()
        if options.apply_first:
            progress(f"starting the {'floor ' if options.floor else ''}operator")
            operator.start()
        else:
            applied = self._apply(kube, manifest)
        deadline = started + options.timeout
        next_note = 0.0
        while watcher.ready_count() < options.n:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {watcher.ready_count()} of {options.n} {until} after {options.timeout:g} s; "
                    f"logs in {self.workdir}"
                )
            if time.monotonic() >= next_note:
                progress(f"{watcher.ready_count()} of {options.n} {until}")
                next_note = time.monotonic() + 10
            time.sleep(0.1)
        times = sorted(t - started for t in watcher.first_ready.values())
        all_ready = times[-1]
        progress(f"all {options.n} {until} after {all_ready:.1f} s")
        requests = simulator.requests() if simulator is not None else None
        writes1, reads1 = probe.writes_and_reads()
        # the bench's own apply, when it came after the first reading
        own = {} if options.apply_first else {f"APPLY {self.plural}": options.n}
        writes = report.writes_between(writes0, writes1, own)
        reads = report.writes_between(reads0, reads1)
        cpu = probe.cpu() - cpu0
        levels = report.log_levels(operator.logs(log0))
        return {
            "kind": options.kind,
            "n": options.n,
            "deploy_seconds": options.deploy_seconds,
            "resources": options.resources,
            "rate_limit": str(options.rate_limit) if options.rate_limit else None,
            "budget": str(options.budget),
            "floor": options.floor,
            "until": until,
            "measured_from": options.measured_from,
            "time_scale": round(options.time_scale, 6),
            "operator_settings": {} if options.floor else dict(plan.describe_scaling(options)),
            "machine": {"cpus": os.cpu_count(), "date": datetime.now(UTC).strftime("%Y-%m-%d")},
            "converge": {
                "all_ready_seconds": round(all_ready, 2),
                "median_ready_seconds": round(times[len(times) // 2], 2),
                "slowest_from_creation_seconds": round(
                    report.slowest_since_seen(watcher.first_seen, watcher.first_ready, started), 2
                ),
                "apply_seconds": round(applied, 2),
                **self._azure_figures(requests, all_ready),
                "kube_writes_total": sum(writes.values()),
                "kube_writes_per_resource": report.per_resource(writes, options.n),
                "kube_reads_per_resource": report.per_resource(reads, options.n),
                "log_lines_per_resource": round(report.log_lines(levels) / options.n, 2),
                "log_levels": dict(levels),
                "cpu_seconds": round(cpu, 2),
            },
        }

    def _apply(self, kube: Kube, manifest: Path) -> float:
        """The one server-side apply of the N objects; the seconds it took."""
        n = self.options.n
        progress(f"applying {n} {self.kind}s")
        started = time.monotonic()
        kube.kubectl("apply", "--server-side", "--field-manager=bench", "-f", str(manifest), timeout=600 + n)
        return time.monotonic() - started

    def _azure_figures(self, requests: Any, all_ready: float) -> dict[str, Any]:
        """The ideal, the ratio and the simulator's counts; not applicable (None) without a simulator."""
        if requests is None:
            keys = ("ideal_seconds", "ratio", "azure_calls_total", "azure_calls_per_resource", "azure_429")
            return dict.fromkeys(keys)
        n = self.options.n
        calls = report.azure_calls(requests)
        ideal = plan.ideal_seconds(self.options)
        return {
            "ideal_seconds": round(ideal, 2),
            "ratio": round(all_ready / ideal, 3),
            "azure_calls_total": sum(calls.values()),
            "azure_calls_per_resource": report.per_resource(calls, n),
            "azure_429": report.azure_status_count(requests, "429"),
        }

    def _interval(
        self, simulator: Simulator, probe: Probe, seconds: float, start: Callable[[], object] | None = None
    ) -> dict[str, Any]:
        """Azure calls and Kubernetes writes during `seconds` (counted from `start()`, when given)."""
        simulator.reset_requests()
        writes0 = probe.writes()
        if start is not None:
            start()
        cpu0 = 0.0 if start is not None else probe.cpu()  # a restarted operator: its whole life
        progress(f"counting calls and writes for {seconds:g} s")
        # a measuring interval, not a wait for a condition: nothing to poll
        time.sleep(seconds)
        calls = report.azure_calls(simulator.requests())
        return {
            "seconds": seconds,
            "operator_cpu_seconds": round(probe.cpu() - cpu0, 2),
            "azure_calls": dict(sorted(calls.items())),
            "azure_writes": report.azure_writes(calls),
            "kube_writes": dict(sorted(report.writes_between(writes0, probe.writes()).items())),
        }


@contextlib.contextmanager
def workdir(path: str | None) -> Iterator[Path]:
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="bench-converge-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    options = plan.parse_options(argv)
    with workdir(options.workdir) as directory:
        result = Run(options, directory).execute()
    print(json.dumps(result, sort_keys=True), flush=True)
    if not options.json_only:
        print(report.format_table(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
