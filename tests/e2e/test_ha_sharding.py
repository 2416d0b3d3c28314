"""High availability and sharding (issue 11, items 5 and 6) with real operator processes.

Peering: two operators share one kopf peering object; the one of higher priority works, the other pauses.
SIGKILL of the active one: the standby resumes once the dead one's record is older than the peering lifetime
(`--peering-lifetime`, 10 s here) and serves a resource created after the kill. Sharding: two operators with
`--label-selector shard=a` and `shard=b` each serve only their own resources; a third shard's is nobody's;
a resource relabelled into the other shard is served there.
The session's default operator is stopped meanwhile (the namespace fixture restarts it for the cleanup).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .harness import REPO, Kube, Operator, Simulator, unique_name
from .test_speech_lifecycle import KIND, manifest

LIFETIME = 10  # seconds: --peering-lifetime of both peers
# After a kill the standby resumes within the lifetime (kopf sleeps until the dead record expires); then it
# lists the resources and runs a first pass. The bound allows that, a simulated deployment and slack.
HAND_OVER_BOUND = LIFETIME + 35
RESUMED = "Resuming operations after the pause"  # kopf's line (a paused start logs no pause line)


@pytest.fixture
def no_default_operator(operator_process: Operator) -> Iterator[None]:
    """The session's operator serves every namespace: stopped, so only the test's operators act."""
    operator_process.stop()
    yield  # the namespace fixture starts it again to delete the test's resources


def operator(kube: Kube, workdir: Path, label: str, *args: str) -> Operator:
    where = workdir / label
    where.mkdir(exist_ok=True)
    return Operator(where, kube.operator_kubeconfig(), extra_args=list(args))


def logged_about(op: Operator, namespace: str, name: str) -> bool:
    return f"[{KIND} {namespace}/{name}]" in op.logs()


def resumed_at(op: Operator) -> datetime | None:
    """When kopf logged the resumption (`[2026-12-06 11:26:40,404] kopf... Resuming ...`, local time)."""
    for line in op.logs().splitlines():
        if RESUMED in line and line.startswith("["):
            return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
    return None


def labelled(simulator: Simulator, name: str, **labels: str) -> dict[str, Any]:
    body = manifest(simulator, name)
    body["metadata"]["labels"] = labels
    return body


def test_the_standby_takes_over_within_the_peering_lifetime_after_a_kill(
    kube: Kube,
    simulator: Simulator,
    no_default_operator: None,
    namespace: str,
    e2e_workdir: Path,
    wait: Callable[..., Any],
) -> None:
    kube.kubectl("apply", "-k", str(REPO / "deploy" / "peering"))
    kube.kubectl("wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev")
    peering = unique_name("ha")
    common = ["--peering", peering, "--peering-lifetime", f"{LIFETIME}s"]
    active = operator(kube, e2e_workdir, f"{peering}-active", *common, "--peering-priority", "200")
    standby = operator(kube, e2e_workdir, f"{peering}-standby", *common, "--peering-priority", "100")
    try:
        active.start()
        standby.start()  # ready, and paused from the start (kopf resumes it only when no higher peer lives)

        def priorities() -> list[int]:
            obj = kube.get("ClusterKopfPeering", peering, api_version="kopf.dev/v1") or {}
            return sorted(record["priority"] for record in (obj.get("status") or {}).values())

        # the first operator created the peering object; both keep their records in it
        wait(lambda: priorities() == [100, 200], timeout=30, what="both peers' records")

        kube.apply(simulator.credentials_secret(namespace), namespace)
        kube.apply(manifest(simulator, "before"), namespace)
        kube.wait_condition(KIND, "before", namespace, "Ready", timeout=120)
        assert logged_about(active, namespace, "before")
        assert not logged_about(standby, namespace, "before"), standby.logs()[-3000:]
        assert RESUMED not in standby.logs()

        active.kill()
        killed, killed_at = time.monotonic(), datetime.now()
        kube.apply(manifest(simulator, "after"), namespace)
        kube.wait_condition(KIND, "after", namespace, "Ready", timeout=HAND_OVER_BOUND + 30)
        took = time.monotonic() - killed
        assert took < HAND_OVER_BOUND, f"hand-over and first Ready took {took:.0f}s"
        # kopf resumed the standby once the dead record was LIFETIME old (it was renewed before the kill)
        resumed = resumed_at(standby)
        assert resumed is not None and resumed - killed_at < timedelta(seconds=LIFETIME + 5), resumed
        assert logged_about(standby, namespace, "after")
    finally:
        active.stop()
        standby.stop()
        kube.delete("ClusterKopfPeering", peering, wait=False)


def test_two_shards_each_serve_only_their_own_resources(
    kube: Kube,
    simulator: Simulator,
    no_default_operator: None,
    namespace: str,
    e2e_workdir: Path,
) -> None:
    shard = unique_name("shard")
    shard_a = operator(kube, e2e_workdir, f"{shard}-a", "--label-selector", "shard=a")
    shard_b = operator(kube, e2e_workdir, f"{shard}-b", "--label-selector", "shard=b")
    try:
        shard_a.start()
        shard_b.start()
        assert "in all namespaces, labels shard=a" in shard_a.logs()
        kube.apply(simulator.credentials_secret(namespace), namespace)
        kube.apply(labelled(simulator, "one", shard="a"), namespace)
        kube.apply(labelled(simulator, "two", shard="b"), namespace)
        kube.apply(labelled(simulator, "nobodys", shard="c"), namespace)
        kube.wait_condition(KIND, "one", namespace, "Ready", timeout=120)
        kube.wait_condition(KIND, "two", namespace, "Ready", timeout=120)

        assert logged_about(shard_a, namespace, "one") and logged_about(shard_b, namespace, "two")
        assert not logged_about(shard_a, namespace, "two"), shard_a.logs()[-3000:]
        assert not logged_about(shard_b, namespace, "one"), shard_b.logs()[-3000:]
        # the third shard has no operator: no finalizer, no status, no Azure endpoint
        nobodys = kube.get(KIND, "nobodys", namespace) or {}
        assert not nobodys.get("status") and not nobodys["metadata"].get("finalizers"), nobodys
        assert not logged_about(shard_a, namespace, "nobodys")
        assert not logged_about(shard_b, namespace, "nobodys")

        # moved to shard b by a label: b takes it over (here: deletes it); a no longer sees it
        kube.kubectl("label", "--overwrite", "-n", namespace, "speechendpoint/one", "shard=b")
        kube.delete(KIND, "one", namespace, timeout=60)
        assert f"[{KIND} {namespace}/one] Deleted: " in shard_b.logs()
        assert "Deleted" not in "".join(
            line for line in shard_a.logs().splitlines() if f"{namespace}/one]" in line
        )
    finally:
        shard_a.stop()
        shard_b.stop()
