"""Direct Kubernetes API calls the handlers need besides kopf's own: writes that must land at once (a
create-pending mark before an Azure POST, a new endpoint id after it), Secrets, exported ConfigMaps.

The official `kubernetes` client is synchronous, so every call runs in one of the client's own threads
(`KUBE_CONCURRENCY`) and the event loop never blocks. (An async httpx client instead cost twice the CPU
per resource at 1,000 resources: bench/README.md.) One `KubeApi` is built from the same configuration
kopf logs in with (in-cluster service account, else `$KUBECONFIG`), see `load_configuration` and the
runner's login handler.

Answers are plain JSON dicts, as the API server sends them. A 404 gives None where absence is an answer the
caller handles; every other failure raises `KubeApiError` (409 `KubeConflictError`) with the server's message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import functools
import json
import os
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Final, ParamSpec, TypeVar
from urllib.parse import quote

import kubernetes.client
import kubernetes.config
import urllib3
import yaml
from kubernetes.client.exceptions import ApiException
from pydantic import SecretBytes

from azure_speech_operator.azure.scrub import scrub
from azure_speech_operator.azure.types import ErrorClass, OperatorError

SPEECH_GROUP: Final = "speech.azure-operator.io"
SPEECH_VERSION: Final = "v1alpha1"
MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"

JsonObject = dict[str, Any]
SecretData = dict[str, SecretBytes]


class KubeConfigError(RuntimeError):
    """Neither an in-cluster service account nor a usable kubeconfig."""


def resource_version(obj: Mapping[str, Any]) -> int | None:
    """The object's resourceVersion as a number (etcd's revision, which only grows), None if it is not one."""
    value = (obj.get("metadata") or {}).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` without `metadata.managedFields` (a shallow copy): the server's field ownership, which nothing in
    the operator reads, is over half of an object's memory (about 15 of 26 KB with four field managers)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or "managedFields" not in metadata:
        return dict(obj)
    return {**obj, "metadata": {key: value for key, value in metadata.items() if key != "managedFields"}}


class KubeApiError(Exception):
    """A failed Kubernetes API call: the HTTP status, the Status reason and the server's message."""

    def __init__(self, status: int, reason: str, message: str, *, operation: str) -> None:
        super().__init__(f"{operation}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.operation = operation


def unreachable_reason(exc: BaseException) -> str:
    """Why no answer came, in a few words (`Connection refused`), from the errors under `exc`: urllib3's own
    text repeats the pool, the URL and the retries."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    reason = "no connection"
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or type(cause).__name__}"
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror  # the innermost system error says it best
        cause = cause.__cause__ or cause.__context__
    return reason


class KubeConflictError(KubeApiError):
    """409: the object changed since it was read (resourceVersion), or it exists already (create)."""


# What the kubernetes client raises from inside for a file that is no usable kubeconfig: its own complaints,
# the file system, the YAML parser, base64 and text decoding, and its walk over a structure of the wrong shape
# (`clusters: 5` is a TypeError, a list at the top a TypeError or KeyError).
UNUSABLE_KUBECONFIG: Final = (
    kubernetes.config.ConfigException,
    OSError,
    yaml.YAMLError,
    ValueError,
    TypeError,
    AttributeError,
    LookupError,
)


def load_configuration(
    kubeconfig: str | None = None, context: str | None = None
) -> kubernetes.client.Configuration:
    """The cluster connection (kopf logs in with the same one): `kubeconfig` if given, else `$KUBECONFIG` if
    set, else the pod's service account when running in a cluster, else `~/.kube/config`. An explicit
    kubeconfig wins over the service account, so a test run inside a pod never reaches the pod's cluster."""
    return load_connection(kubeconfig, context)[0]


def load_connection(
    kubeconfig: str | None = None, context: str | None = None
) -> tuple[kubernetes.client.Configuration, str]:
    """`load_configuration`, and where it came from as messages name it (`kubeconfig PATH`, `the pod's
    service account`)."""
    configuration = kubernetes.client.Configuration()
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    if not explicit and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return configuration, "the pod's service account"
        except kubernetes.config.ConfigException:
            pass  # a KUBERNETES_SERVICE_HOST without a service account: fall back to ~/.kube/config
    path = explicit or os.path.expanduser("~/.kube/config")
    if not any(os.path.exists(p) for p in path.split(os.pathsep) if p):  # KUBECONFIG may list several
        # the client would call a missing file "invalid"
        raise KubeConfigError(f"cannot load the Kubernetes configuration from {path}: no such file")
    try:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=configuration, persist_config=False
        )
    except UNUSABLE_KUBECONFIG as exc:
        raise KubeConfigError(
            f"cannot load the Kubernetes configuration from {path}: {unusable_kubeconfig_reason(exc)}"
        ) from None
    return configuration, f"kubeconfig {path}"


def unusable_kubeconfig_reason(exc: BaseException) -> str:
    """Why a kubeconfig cannot be used, in words that never quote its content: a token or key must not reach a
    log line, so the parser's and Python's own messages are named, not repeated, where they could quote it."""
    if isinstance(exc, kubernetes.config.ConfigException | OSError):
        return str(exc)  # the client's own sentences and file errors: they name keys and paths
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return (
            f"not valid YAML: {exc.problem or exc.context} (line {mark.line + 1}, column {mark.column + 1})"
        )
    if isinstance(exc, yaml.YAMLError):
        return "not valid YAML"
    if isinstance(exc, UnicodeError):
        return "not UTF-8 text"
    if isinstance(exc, binascii.Error):
        return "a certificate-authority-data, client-certificate-data or client-key-data field is not base64"
    if isinstance(exc, ValueError):
        return f"a field has a value that cannot be read ({type(exc).__name__})"
    return (
        "not a kubeconfig: a field has the wrong type or shape (clusters, contexts and users are lists) "
        f"({type(exc).__name__})"
    )


SERVICE_ACCOUNT_NAMESPACE: Final = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def default_namespace(kubeconfig: str | None = None, context: str | None = None) -> str:
    """The namespace kubectl would use: the kubeconfig context's, else the pod's own, else `default`."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        contexts, active = kubernetes.config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
        namespace = ((chosen or {}).get("context") or {}).get("namespace")
        if namespace:
            return str(namespace)
    except UNUSABLE_KUBECONFIG:
        pass  # no usable kubeconfig here (in a pod, the operator's connection is its service account)
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE, encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"


def _status_message(exc: ApiException) -> tuple[str, str]:
    """The reason and message of a Kubernetes Status body, or the HTTP reason when there is none."""
    reason, message = str(exc.reason or ""), str(exc.reason or "")
    try:
        body = json.loads(exc.body) if exc.body else None
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        reason = str(body.get("reason") or reason)
        message = str(body.get("message") or message)
    return reason, message


def decode_secret_data(secret: Mapping[str, Any]) -> SecretData:
    """A Secret's `data`, base64-decoded, each value wrapped so that it never prints."""
    data = secret.get("data") or {}
    decoded: SecretData = {}
    for key, value in data.items():
        try:
            decoded[key] = SecretBytes(base64.b64decode(value or "", validate=True))
        except (binascii.Error, ValueError):
            continue  # the API server never stores invalid base64; a value we cannot read counts as absent
    return decoded


# Calls in flight at once, each in a thread of the client's own, on a connection of its pool. asyncio's
# shared default pool has 4 + CPUs threads (6 on two cores): at N = 5,000 thousands of passes queued behind
# them, each holding its copy of the object, while the API server had time to spare.
KUBE_CONCURRENCY: Final = 32

_P = ParamSpec("_P")
_T = TypeVar("_T")


class DaemonThreads(Executor):
    """A daemon thread per call. ThreadPoolExecutor's threads are joined when the interpreter exits: a
    command interrupted while the API server is silent would wait for the read timeout before it exits."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting caller, as a pool's thread would
                future.set_exception(exc)

        threading.Thread(target=work, name="kube-api", daemon=True).start()
        return future


class KubeApi:
    """Async access to the few objects the operator reads and writes directly."""

    def __init__(
        self,
        configuration: kubernetes.client.Configuration,
        *,
        timeout: tuple[float, float] = (10.0, 30.0),
        concurrency: int = KUBE_CONCURRENCY,
        retries: bool | None = None,
        threads: Executor | None = None,
    ) -> None:
        """`retries=False`: a failed connection or read is reported at once (None: urllib3's 3 retries);
        `threads`: where the blocking calls run (default: a pool of `concurrency` threads)."""
        self.configuration = configuration
        # the pool of connections is made with the client, from its configuration
        configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 1, concurrency)
        if retries is not None:
            configuration.retries = retries
        self._client = kubernetes.client.ApiClient(configuration)
        self._client.user_agent = "azure-speech-operator"
        self._timeout = timeout
        self._threads = threads or ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kube-api")

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._client.close()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------------
    # Custom resources (default: the speech.azure-operator.io/v1alpha1 group)

    @staticmethod
    def object_path(
        plural: str,
        namespace: str,
        name: str | None = None,
        *,
        group: str = SPEECH_GROUP,
        version: str | None = None,
        subresource: str | None = None,
    ) -> str:
        """The API path of a namespaced collection or object; group "" is the core API (version v1)."""
        base = f"/api/{version or 'v1'}" if group == "" else f"/apis/{group}/{version or SPEECH_VERSION}"
        path = f"{base}/namespaces/{quote(namespace, safe='')}/{plural}"
        if name is not None:
            path += f"/{quote(name, safe='')}"
            if subresource:
                path += f"/{subresource}"
        return path

    async def get_object(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
    ) -> JsonObject | None:
        path = self.object_path(plural, namespace, name, group=group, version=version)
        return await self.request("GET", path, missing_ok=True)

    async def list_objects(
        self,
        plural: str,
        namespace: str,
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
        label_selector: str | None = None,
    ) -> list[JsonObject]:
        """All objects of a kind in a namespace (an absent kind, e.g. a CRD not installed, gives [])."""
        path = self.object_path(plural, namespace, group=group, version=version)
        query = [("labelSelector", label_selector)] if label_selector else []
        answer = await self.request("GET", path, query=query, missing_ok=True)
        return list((answer or {}).get("items") or [])

    async def patch_object(
        self,
        plural: str,
        namespace: str,
        name: str,
        patch: JsonObject | Sequence[JsonObject],
        *,
        subresource: str | None = None,
        content_type: str = MERGE_PATCH,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
    ) -> JsonObject | None:
        """Patch now (not after the handler, as kopf's `patch` kwarg would). None if the object is gone.

        `subresource="status"` patches the status; `content_type=JSON_PATCH` takes a list of operations
        (use a `test` operation on /metadata/resourceVersion to make the write conditional).
        """
        if content_type == JSON_PATCH and not isinstance(patch, list):
            raise TypeError("a JSON patch is a list of operations")
        path = self.object_path(
            plural, namespace, name, group=group, version=version, subresource=subresource
        )
        return await self.request("PATCH", path, body=patch, content_type=content_type, missing_ok=True)

    # -------------------------------------------------------------------------------------------------
    # Secrets and ConfigMaps

    async def namespace_terminating(self, namespace: str) -> bool:
        """Whether the namespace is being deleted; False when that cannot be read (RBAC, API errors)."""
        try:
            found = await self.request("GET", f"/api/v1/namespaces/{namespace}", missing_ok=True)
        except KubeApiError:
            return False
        if found is None:
            return True  # already gone: nothing in it can come back either
        metadata, status = found.get("metadata") or {}, found.get("status") or {}
        return bool(metadata.get("deletionTimestamp")) or status.get("phase") == "Terminating"

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """A Secret's decoded data, None if there is no such Secret."""
        secret = await self.request(
            "GET", self.object_path("secrets", namespace, name, group=""), missing_ok=True
        )
        return None if secret is None else decode_secret_data(secret)

    async def get_config_map(self, namespace: str, name: str) -> JsonObject | None:
        return await self.request(
            "GET", self.object_path("configmaps", namespace, name, group=""), missing_ok=True
        )

    async def create_config_map(self, namespace: str, body: JsonObject) -> JsonObject:
        answer = await self.request("POST", self.object_path("configmaps", namespace, group=""), body=body)
        assert answer is not None  # missing_ok=False: a 404 raised
        return answer

    async def replace_config_map(self, namespace: str, name: str, body: JsonObject) -> JsonObject:
        """PUT; with `metadata.resourceVersion` in the body a concurrent change gives KubeConflictError."""
        path = self.object_path("configmaps", namespace, name, group="")
        answer = await self.request("PUT", path, body=body)
        assert answer is not None
        return answer

    async def delete_config_map(self, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """True if deleted, False if absent. With `uid`, only that very object is deleted (a precondition)."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}} if uid else None
        path = self.object_path("configmaps", namespace, name, group="")
        answer = await self.request("DELETE", path, body=body, missing_ok=True)
        return answer is not None

    # -------------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str | None = None,
        query: Sequence[tuple[str, str]] = (),
        missing_ok: bool = False,
    ) -> JsonObject | None:
        """One API call in one of the client's threads. The JSON answer; None for a 404 if `missing_ok`."""
        operation = f"{method} {path}"
        call = functools.partial(
            contextvars.copy_context().run,
            self._request_sync,
            method,
            path,
            body,
            content_type,
            query,
            missing_ok,
            operation,
        )
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def _request_sync(
        self,
        method: str,
        path: str,
        body: object,
        content_type: str | None,
        query: Sequence[tuple[str, str]],
        missing_ok: bool,
        operation: str,
    ) -> JsonObject | None:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        serialized = self._client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._client.call_api(*serialized, _request_timeout=self._timeout)
            raw = response.read()  # type: ignore[no-untyped-call]
            status = response.status
        except ApiException as exc:
            status, raw = int(exc.status or 0), None
            if not (missing_ok and status == 404):
                reason, message = _status_message(exc)
                raise self._error(status, reason, message, operation) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeApiError(0, "ConnectionError", str(exc), operation=operation) from None
        if status == 404 and missing_ok:
            return None
        if not 200 <= status < 300:
            fake = ApiException(status=status, reason="")
            fake.body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else None
            reason, message = _status_message(fake)
            raise self._error(status, reason, message, operation)
        if not raw:
            return {}
        try:
            answer = json.loads(raw)
        except ValueError:
            raise KubeApiError(
                status, "InvalidResponse", "the answer is not JSON", operation=operation
            ) from None
        return answer if isinstance(answer, dict) else {"items": answer}

    @staticmethod
    def _error(status: int, reason: str, message: str, operation: str) -> KubeApiError:
        cls = KubeConflictError if status == 409 else KubeApiError
        return cls(status, reason, message, operation=operation)


KUBERNETES_FORBIDDEN: Final = "KubernetesForbidden"


def as_operator_error(exc: KubeApiError, what: str, *, invalid_is_refusal: bool = True) -> OperatorError:
    """A Kubernetes API failure as the reconcilers report it: refusals (401, 403, 422) block (a human must
    grant access, change a policy or fix what was written), everything else is retried as transient.

    The API server's own message is kept: for a refusal it is the only thing naming the cause (the missing
    RBAC rule, the admission policy and its words, the exhausted quota). It is third-party text (a webhook
    writes what it likes), so it is shown scrubbed, on one line and shortened like Azure's.

    `invalid_is_refusal=False`: a 422 is a failed JSON patch `test` (the object changed under the pass), which
    the next pass, on the object as it is now, gets past: transient."""
    said = scrub(" ".join(exc.message.split()))
    # 422: the write is invalid as sent (a ValidatingAdmissionPolicy denies with it by default): retrying
    # the same write at once cannot help, so it is judged as a refusal, not as the API server's hiccup
    if exc.status in (401, 403) or (exc.status == 422 and invalid_is_refusal):
        return OperatorError(
            KUBERNETES_FORBIDDEN,
            f"{what}: refused by the API server (HTTP {exc.status})" + (f": {said}" if said else ""),
            ErrorClass.BLOCKED,
        )
    if exc.status == 409:
        return OperatorError(
            "KubernetesConflict", f"{what}: changed concurrently, retrying", ErrorClass.TRANSIENT
        )
    detail = f"HTTP {exc.status} {exc.reason}: {said}" if exc.status else said
    return OperatorError("KubernetesApiError", f"{what}: {detail}", ErrorClass.TRANSIENT)
