import importlib.util
import random
import sys
from datetime import UTC, datetime

import kopf
import kubernetes.client
import pytest
from azure_speech_operator.azure.client import AzureClient
from azure_speech_operator.kube import KubeApi
from azure_speech_operator.runner import KINDS, connection_info, import_handler_modules
from azure_speech_operator.runtime.context import OperatorContext, get_context
from azure_speech_operator.settings import OperatorSettings


def test_get_context_explains_a_missing_startup() -> None:
    with pytest.raises(RuntimeError, match="startup handler"):
        get_context(kopf.Memo())


async def test_context_carries_injected_clock_and_rng_and_closes() -> None:
    now = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    settings = OperatorSettings()
    ctx = OperatorContext(
        settings=settings,
        kube=KubeApi(kubernetes.client.Configuration()),
        azure=AzureClient(settings.client_settings()),
        now=lambda: now,
        rng=random.Random(7),
    )
    memo = kopf.Memo(ctx=ctx)
    per_object = memo.__class__(memo)  # what kopf does per object: a shallow copy
    assert get_context(per_object) is ctx
    assert ctx.now() == now and ctx.rng.random() == random.Random(7).random()
    await ctx.aclose()


def test_connection_info_carries_the_bearer_token() -> None:
    configuration = kubernetes.client.Configuration(host="https://cluster.example:6443")
    configuration.api_key = {"BearerToken": "token-value"}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.verify_ssl = False
    info = connection_info(configuration)
    assert (info.server, info.scheme, info.token, info.insecure) == (
        "https://cluster.example:6443",
        "Bearer",
        "token-value",
        True,
    )
    assert connection_info(kubernetes.client.Configuration(host="http://127.0.0.1:1")).token is None


def test_served_kinds_are_the_handler_modules_present() -> None:
    served = import_handler_modules()
    assert "SpeechEndpoint" in [kind.kind for kind in served]
    for kind in KINDS:
        present = importlib.util.find_spec(kind.module) is not None
        assert (kind in served) == present
        assert (kind.module in sys.modules) or not present
