"""kopf 1.45 against the emulated API, independent of the operator: login, discovery, watching, its finalizer,
status patches, posted events, deletion."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from kopf.testing import KopfRunner

from .conftest import CRDS, widget, widget_crd

HANDLERS = textwrap.dedent(
    """
    import kopf

    @kopf.on.login()
    def login(**_):
        return kopf.ConnectionInfo(server=SERVER)

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_):
        settings.posting.level = 0
        settings.watching.server_timeout = 2
        settings.persistence.finalizer = "example.com/kopf-test"

    @kopf.on.create("example.com", "v1", "widgets")
    @kopf.on.update("example.com", "v1", "widgets")
    def reconcile(spec, patch, body, **_):
        patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Sized"}]
        patch.status["phase"] = f"size {spec['size']}"
        kopf.info(body, reason="Reconciled", message=f"size {spec['size']}")

    @kopf.on.delete("example.com", "v1", "widgets")
    def cleanup(**_):
        pass
    """
)


def wait_for(fn: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_kopf_reconciles_and_finalizes(http: httpx.Client, server_url: str, tmp_path: Path) -> None:
    http.post(CRDS, json=widget_crd())
    handlers = tmp_path / "handlers.py"
    handlers.write_text(f"SERVER = {server_url!r}\n" + HANDLERS)
    path = "/apis/example.com/v1/namespaces/default/widgets"
    with KopfRunner(["run", "--standalone", "--all-namespaces", str(handlers)], timeout=60) as runner:
        http.post(path, json=widget("w", 3))
        ready = wait_for(lambda: http.get(f"{path}/w").json().get("status", {}).get("phase") == "size 3")
        assert ready, http.get(f"{path}/w").json()
        assert "example.com/kopf-test" in http.get(f"{path}/w").json()["metadata"]["finalizers"]
        http.patch(
            f"{path}/w", json={"spec": {"size": 4}}, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert wait_for(lambda: http.get(f"{path}/w").json()["status"].get("phase") == "size 4")
        events = http.get("/api/v1/namespaces/default/events", params={"fieldSelector": "reason=Reconciled"})
        assert {e["message"] for e in events.json()["items"]} >= {"size 3", "size 4"}
        http.delete(f"{path}/w")
        assert wait_for(lambda: http.get(f"{path}/w").status_code == 404)
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None
