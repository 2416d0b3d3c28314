"""A token provider's failure as TokenUnavailable: azure-identity's reason kept, nothing of a credential."""

from __future__ import annotations

import traceback

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure_speech_operator.azure import AzureError, ErrorClass
from azure_speech_operator.azure.auth import CachingTokens

from .helpers import CANARY, StaticTokens

SCOPE = "https://cognitiveservices.azure.com/.default"
# A federated service account token or client assertion as azure-identity might quote one.
JWT = f"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW0ifQ.{CANARY.replace('-', '_')}"
# DefaultAzureCredential's message on AKS when Microsoft Entra ID refuses the federated token, as
# azure-identity 1.27 builds it (ChainedTokenCredential, _internal/msal_client.py).
SUBJECT = "system:serviceaccount:speech:azure-speech-operator"
DEFAULT_CREDENTIAL_FAILURE = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are "
    "not fully configured.\n"
    "Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this "
    "issue.\n"
    "\tWorkloadIdentityCredential: Authentication failed: AADSTS700213: No matching federated identity "
    f"record found for presented assertion subject '{SUBJECT}'. Check your federated identity credential "
    "Subject, Audience and Issuer against the presented assertion. "
    "Trace ID: 0b9c2f1e-7d5a-4c3b-9e8f-1a2b3c4d5e6f Correlation ID: 5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at "
    "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


async def token_error(failure: Exception) -> AzureError:
    with pytest.raises(AzureError) as info:
        await CachingTokens(StaticTokens(failure)).token(SCOPE)
    error = info.value
    assert error.reason == "TokenUnavailable" and error.error_class is ErrorClass.BLOCKED
    assert error.__cause__ is None and error.__context__ is None
    return error


async def test_azure_identitys_reason_is_kept_on_one_line() -> None:
    error = await token_error(ClientAuthenticationError(message=DEFAULT_CREDENTIAL_FAILURE))
    assert error.message.startswith(
        f"no Microsoft Entra token for scope {SCOPE}: ClientAuthenticationError: "
    )
    # the same links after every failure are dropped, so the failed credential's own words fit the length cap
    assert "aka.ms" not in error.message
    assert (
        "WorkloadIdentityCredential: Authentication failed: AADSTS700213: No matching federated identity "
        f"record found for presented assertion subject '{SUBJECT}'"
    ) in error.message
    assert "\n" not in error.message and "\t" not in error.message and len(error.message) <= 600


@pytest.mark.parametrize(
    "message",
    [
        f"could not read the federated token: {JWT}",
        f"token request failed: grant_type=client_credentials&client_assertion={CANARY}&scope=x",
        f"POST body client_assertion_type=jwt-bearer client_assertion = {CANARY}",
        f"Authentication failed: invalid client_secret={CANARY}",
        f"echoed header Authorization: Bearer {CANARY}",
        f'response body {{"error": "invalid_client", "client_secret": "{CANARY}"}}',
        f"refresh_token: {CANARY}",
    ],
)
async def test_a_credential_in_the_providers_message_is_removed(message: str) -> None:
    error = await token_error(ClientAuthenticationError(message=f"{message}\nsecond line"))
    for text in (str(error), repr(error), "".join(traceback.format_exception(error))):
        assert CANARY not in text and CANARY.replace("-", "_") not in text
    assert "ClientAuthenticationError: " in error.message and "***" in error.message
    assert error.message.endswith("second line")


async def test_a_long_message_is_shortened() -> None:
    error = await token_error(RuntimeError("x" * 5000))
    assert "RuntimeError: xxx" in error.message and len(error.message) <= 600


async def test_an_exception_that_cannot_be_printed_is_named_by_its_type() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    error = await token_error(Unprintable())
    assert error.message == f"no Microsoft Entra token for scope {SCOPE}: Unprintable"
