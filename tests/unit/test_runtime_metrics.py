import httpx
from azure_speech_operator.runner import HealthServer
from azure_speech_operator.runtime.metrics import Metrics, ResourceState
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.runtime_fakes import free_port


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_observer_counts_and_times_azure_requests() -> None:
    metrics = Metrics()
    metrics.observe("Endpoints_Get", "GET", "westeurope.api.cognitive.microsoft.com", 200, 0.2)
    metrics.observe("Endpoints_Get", "GET", "westeurope.api.cognitive.microsoft.com", 200, 0.3)
    metrics.observe("Endpoints_Create", "POST", "westeurope.api.cognitive.microsoft.com", "timeout", 30.0)
    got = samples(metrics)
    host = ("host", "westeurope.api.cognitive.microsoft.com")
    get = (host, ("method", "GET"), ("operation", "Endpoints_Get"), ("status", "200"))
    assert got[("azure_speech_operator_azure_requests_total", get)] == 2
    timeout = (host, ("method", "POST"), ("operation", "Endpoints_Create"), ("status", "timeout"))
    assert got[("azure_speech_operator_azure_requests_total", timeout)] == 1
    assert got[("azure_speech_operator_azure_request_seconds_count", (("operation", "Endpoints_Get"),))] == 2
    assert got[("azure_speech_operator_azure_request_seconds_sum", (("operation", "Endpoints_Get"),))] == 0.5


def test_resource_gauges_follow_reported_states() -> None:
    metrics = Metrics()
    metrics.set_resource_state("SpeechEndpoint", "a", "x", ResourceState(ready=True, stalled=False))
    metrics.set_resource_state("SpeechEndpoint", "a", "y", ResourceState(ready=False, stalled=True))
    metrics.set_resource_state(
        "SpeechEndpoint", "b", "z", ResourceState(ready=False, stalled=False, reconciling=True)
    )
    metrics.set_resource_state("SpeechEndpoint", "a", "y", ResourceState(ready=True, stalled=False))  # fixed
    metrics.forget_resource("SpeechEndpoint", "b", "z")
    got = samples(metrics)

    def gauge(condition: str, status: str) -> float:
        labels = (("condition", condition), ("kind", "SpeechEndpoint"), ("status", status))
        return got[("azure_speech_operator_resources", labels)]

    assert (gauge("Ready", "True"), gauge("Ready", "False")) == (2, 0)
    assert (gauge("Stalled", "True"), gauge("Reconciling", "True")) == (0, 0)


def test_orphans_and_reconcile_outcomes() -> None:
    metrics = Metrics()
    metrics.orphaned("SpeechEndpoint", "team-a", "a07164e8-0000-4000-8000-000000000000")
    metrics.reconciled("SpeechEndpoint", "transient")
    got = samples(metrics)
    orphan = (
        ("endpoint_id", "a07164e8-0000-4000-8000-000000000000"),
        ("kind", "SpeechEndpoint"),
        ("namespace", "team-a"),
    )
    assert got[("azure_speech_operator_orphaned_endpoints_total", orphan)] == 1
    assert (
        got[
            ("azure_speech_operator_reconciles_total", (("kind", "SpeechEndpoint"), ("outcome", "transient")))
        ]
        == 1
    )


def test_separate_metrics_objects_do_not_share_counters() -> None:
    first, second = Metrics(), Metrics()
    first.reconciled("SpeechEndpoint", "ok")
    assert not any(name == "azure_speech_operator_reconciles_total" for name, _ in samples(second))


async def test_health_server_readiness() -> None:
    metrics = Metrics()
    port = free_port()
    server = HealthServer(metrics, "127.0.0.1", port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 503
            server.ready.set()
            assert (await http.get("/readyz")).status_code == 200
            scraped = await http.get("/metrics")
            assert scraped.headers["content-type"].startswith("text/plain")
            assert "azure_speech_operator_resources" in scraped.text
    finally:
        await server.stop()
