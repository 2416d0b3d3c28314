from __future__ import annotations

import pytest
from azure_speech_operator.azure import ClientSettings, host_allowed, host_matches
from azure_speech_operator.azure.config import is_azure_host
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("pattern", "host", "port", "expected"),
    [
        ("*.api.cognitive.microsoft.com", "westeurope.api.cognitive.microsoft.com", 443, True),
        ("*.api.cognitive.microsoft.com", "WestEurope.API.cognitive.microsoft.com", 443, True),
        ("*.api.cognitive.microsoft.com", "api.cognitive.microsoft.com", 443, False),
        ("*.api.cognitive.microsoft.com", "evil.com", 443, False),
        ("*.api.cognitive.microsoft.com", "x.api.cognitive.microsoft.com.evil.com", 443, False),
        ("*.cognitiveservices.azure.com", "my-speech.cognitiveservices.azure.com", 8443, True),
        ("*.cognitiveservices.azure.com:443", "my-speech.cognitiveservices.azure.com", 8443, False),
        ("http://127.0.0.1:*", "127.0.0.1", 54321, True),
        ("https://sim.test:8443", "sim.test", 8443, True),
        ("127.0.0.1", "127.0.0.1", 54321, True),
        ("127.0.0.1:*", "127.0.0.1", 54321, True),
        ("127.0.0.1:8080", "127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "127.0.0.1", 8081, False),
        ("localhost", "localhost.", 80, True),
        ("[::1]:*", "[::1]", 80, True),
    ],
)
def test_host_patterns(pattern: str, host: str, port: int, expected: bool) -> None:
    assert host_matches(pattern, host, port) is expected


def test_defaults_and_comma_separated_patterns() -> None:
    settings = ClientSettings()
    assert settings.budget_requests == 90 and settings.budget_window_s == 10
    assert not settings.allow_http
    assert host_allowed(settings.allowed_hosts, "eastus.customvoice.api.speech.microsoft.com", 443)
    custom = ClientSettings(allowed_hosts="127.0.0.1:*, *.example.test")  # type: ignore[arg-type]
    assert custom.allowed_hosts == ("127.0.0.1:*", "*.example.test")


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="budget_requests"):
        ClientSettings(budget_requests=0)


@pytest.mark.parametrize(
    "url",
    [
        "https://{region}.api.cognitive.azure.cn",
        "https://{region}.api.cognitive.microsoft.us",
        "http://speech-simulator.staging:8080",
        "http://127.0.0.1:41234/",
    ],
)
def test_region_urls_admitted(url: str) -> None:
    settings = ClientSettings(region_url=url, voice_v3_region_url=url)
    assert settings.regional_base_url("chinaeast2") == url.rstrip("/").replace("{region}", "chinaeast2")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://{region}.example.com",
        "https://{region}.example.com/speech",
        "https://example.{region}.com",
        "https://a..b.com",
        "https://host:99999",
        "{region}.api.cognitive.microsoft.com",
        "https://user@host",
    ],
)
def test_region_urls_refused_naming_the_value(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        ClientSettings(region_url=url)
    assert "region_url" in str(info.value) and url in str(info.value)


@pytest.mark.parametrize(
    "host", ["usgovvirginia.api.cognitive.microsoft.us", "chinaeast2.api.cognitive.azure.cn"]
)
def test_sovereign_clouds_are_azure_hosts_never_reached_over_http(host: str) -> None:
    assert is_azure_host(host)
    with pytest.raises(ValueError, match="https only"):
        ClientSettings(allowed_hosts=(f"http://*.{host.split('.', 1)[1]}",))
