"""The HTTP face of the emulated Kubernetes API (aiohttp): routing, content negotiation, watches and
discovery."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from . import errors, openapi, patches, protobuf, tables
from .errors import ApiError
from .registry import Registry
from .resources import ResourceType
from .selectors import exact_name, field_matcher, label_matcher
from .store import Event, Watcher

log = logging.getLogger("kubeapi")

KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-emulated",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass
class ServerOptions:
    bookmark_interval: float = 15.0
    # kube-apiserver closes a watch without timeoutSeconds after 30-60 minutes
    default_watch_timeout: float = 1800.0


class KubeApi:
    """The aiohttp application around one `Registry`."""

    def __init__(self, registry: Registry | None = None, options: ServerOptions | None = None) -> None:
        self.registry = registry or Registry()
        self.options = options or ServerOptions()
        self.app = web.Application(client_max_size=8 * 1024 * 1024, middlewares=[self._errors])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_shutdown.append(self._on_shutdown)
        self.request_count = 0

    async def _on_shutdown(self, app: web.Application) -> None:
        self.registry.store.close_watchers()

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        self.request_count += 1
        started = time.monotonic()
        try:
            response: web.StreamResponse = await handler(request)
        except ApiError as exc:
            response = _json(exc.status(), status=exc.code)
        except web.HTTPException:
            raise
        except Exception as exc:  # an emulator bug: answer 500 like a server would, and log it
            log.exception("internal error on %s %s", request.method, request.path_qs)
            response = _json(
                ApiError(500, "InternalError", f"Internal error occurred: {exc!r}").status(), status=500
            )
        if request.query.get("watch") not in ("true", "1"):
            log.info(
                "%s %s -> %d (%.1f ms)",
                request.method,
                request.path_qs,
                response.status,
                (time.monotonic() - started) * 1000,
            )
        return response

    # --- routing -------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return _json(KUBE_VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path.startswith("/openapi/"):
            return self._openapi(request, parts)
        if parts[:1] == ["api"]:
            if len(parts) == 1:
                return _json(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host or "127.0.0.1"}
                        ],
                    }
                )
            if parts[1] != "v1":
                raise errors.page_not_found(path)
            if len(parts) == 2:
                return _json(self._resource_list("", "v1"))
            return await self._resource_request(request, "", "v1", parts[2:])
        if parts[:1] == ["apis"]:
            if len(parts) == 1:
                return _json(self._group_list())
            group = parts[1]
            versions = self.registry.group_versions().get(group)
            if group == "" or not versions:
                raise errors.page_not_found(path)
            if len(parts) == 2:
                return _json(self._group(group, versions))
            version = parts[2]
            if version not in versions:
                raise errors.page_not_found(path)
            if len(parts) == 3:
                return _json(self._resource_list(group, version))
            return await self._resource_request(request, group, version, parts[3:])
        if path == "/":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]})
        raise errors.page_not_found(path)

    # --- discovery -----------------------------------------------------------------------------------

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for rtype in self.registry.types():
            if rtype.group == group and rtype.version == version:
                resources.extend(rtype.discovery())
        resources.sort(key=lambda r: r["name"])
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def _group(self, group: str, versions: list[str]) -> dict[str, Any]:
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": listed,
            "preferredVersion": listed[0],
        }

    def _group_list(self) -> dict[str, Any]:
        groups = []
        for group, versions in self.registry.group_versions().items():
            if group:
                entry = self._group(group, versions)
                del entry["kind"], entry["apiVersion"]
                groups.append(entry)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _openapi(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        if parts[1] == "v2":
            # client-go asks for the protobuf encoding first; a clean 406 is better than JSON it cannot parse
            if not _accepts_json(request):
                raise errors.not_acceptable(["application/json"])
            return _json(openapi.v2_document(self.registry))
        if parts[1] == "v3" and len(parts) == 2:
            return _json(openapi.v3_index(self.registry))
        if parts[1] == "v3":
            doc = openapi.v3_document(self.registry, "/".join(parts[2:]))
            if doc is not None:
                return _json(doc)
        raise errors.page_not_found(request.path)

    # --- resources -----------------------------------------------------------------------------------

    async def _resource_request(
        self, request: web.Request, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        registry = self.registry
        namespace: str | None = None
        if rest[0] == "watch":  # the deprecated /watch/ prefix
            rest = rest[1:]
            watch = True
        else:
            watch = request.query.get("watch") in ("true", "1")
        if rest[0] == "namespaces" and len(rest) >= 3 and registry.find(group, version, rest[2]) is not None:
            candidate = registry.find(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace = rest[1]
                rest = rest[2:]
        rtype = registry.resolve(group, version, rest[0])
        if rtype.namespaced and namespace is None and len(rest) > 1:
            raise errors.page_not_found(request.path)
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (
            subresource is not None and not (subresource == "status" and rtype.status_subresource)
        ):
            raise errors.page_not_found(request.path)
        query = request.query
        method = request.method
        dry_run = query.get("dryRun") == "All"
        if query.get("dryRun") not in (None, "", "All"):
            raise errors.bad_request(f'Unsupported dryRun value: "{query.get("dryRun")}"')
        field_validation = query.get("fieldValidation", "")
        if field_validation not in ("", "Ignore", "Warn", "Strict"):
            raise errors.bad_request(
                f"fieldValidation {field_validation} is invalid, valid values are: Ignore, Warn, Strict"
            )
        if name is None:
            if method == "GET" and watch:
                return await self._watch(request, rtype, namespace)
            if method == "GET":
                listed = registry.list(
                    rtype,
                    namespace,
                    label_selector=query.get("labelSelector"),
                    field_selector=query.get("fieldSelector"),
                    limit=_int(query.get("limit")),
                    continue_token=query.get("continue"),
                )
                if _wants_table(request):
                    return _json(
                        tables.table(
                            rtype,
                            listed["items"],
                            resource_version=listed["metadata"]["resourceVersion"],
                            include_object=query.get("includeObject", "PartialObjectMetadata"),
                            list_meta={k: v for k, v in listed["metadata"].items() if k == "continue"},
                            now=registry.clock(),
                        )
                    )
                return _json(listed)
            if method == "POST":
                body = await _read_body(request)
                result = registry.create(
                    rtype, namespace, body, dry_run=dry_run, field_validation=field_validation
                )
                return self._object(request, rtype, result.obj, status=201, warnings=result.warnings)
            if method == "DELETE":
                options = await _delete_options(request)
                listed = registry.delete_collection(
                    rtype,
                    namespace,
                    label_selector=query.get("labelSelector"),
                    field_selector=query.get("fieldSelector"),
                    options=options,
                    dry_run=dry_run or _dry(options),
                )
                return _json(listed)
            raise errors.method_not_allowed()
        if method == "GET":
            if watch:
                raise errors.method_not_allowed()
            return self._object(request, rtype, registry.get(rtype, namespace, name))
        if method == "PUT":
            body = await _read_body(request)
            result = registry.update(
                rtype,
                namespace,
                name,
                body,
                subresource=subresource,
                dry_run=dry_run,
                field_validation=field_validation,
            )
            return self._object(request, rtype, result.obj, warnings=result.warnings)
        if method == "PATCH":
            content_type = request.content_type
            raw = await request.read()
            body = _parse_patch(content_type, raw)
            result = registry.patch(
                rtype,
                namespace,
                name,
                content_type,
                body,
                subresource=subresource,
                dry_run=dry_run,
                field_manager=query.get("fieldManager"),
                field_validation=field_validation,
            )
            return self._object(
                request, rtype, result.obj, status=201 if result.created else 200, warnings=result.warnings
            )
        if method == "DELETE":
            if subresource is not None:
                raise errors.method_not_allowed()
            options = await _delete_options(request)
            result = registry.delete(rtype, namespace, name, options, dry_run=dry_run or _dry(options))
            if result.removed:
                meta = result.obj["metadata"]
                details: dict[str, Any] = {"name": name, "kind": rtype.plural, "uid": meta["uid"]}
                if rtype.group:
                    details["group"] = rtype.group
                return _json(
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": details,
                    }
                )
            return self._object(request, rtype, result.obj)
        raise errors.method_not_allowed()

    def _object(
        self,
        request: web.Request,
        rtype: ResourceType,
        obj: dict[str, Any],
        *,
        status: int = 200,
        warnings: list[str] | None = None,
    ) -> web.Response:
        body = obj
        if _wants_table(request):
            body = tables.table(
                rtype,
                [obj],
                resource_version=obj["metadata"].get("resourceVersion", ""),
                include_object=request.query.get("includeObject", "PartialObjectMetadata"),
                now=self.registry.clock(),
            )
        response = _json(body, status=status)
        for warning in warnings or []:
            response.headers.add("Warning", f'299 - "{_escape_warning(warning)}"')
        return response

    # --- watch ---------------------------------------------------------------------------------------

    async def _watch(
        self, request: web.Request, rtype: ResourceType, namespace: str | None
    ) -> web.StreamResponse:
        registry = self.registry
        store = registry.store
        query = request.query
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rtype.selectable_fields, rtype.kind)
        only_name = exact_name(query.get("fieldSelector"))

        def matches(obj: dict[str, Any] | None) -> bool:
            return obj is not None and labels(obj) and fields(obj)

        timeout = _float(query.get("timeoutSeconds"))
        if timeout is None or timeout <= 0:
            timeout = self.options.default_watch_timeout
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        send_initial = query.get("sendInitialEvents") in ("true", "1")
        as_table = _wants_table(request)
        include_object = query.get("includeObject", "PartialObjectMetadata")
        rv_param = query.get("resourceVersion", "")
        if send_initial and query.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.invalid(
                "ListOptions",
                "",
                "",
                [
                    (
                        "resourceVersionMatch",
                        "FieldValueForbidden",
                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    )
                ],
            )
        watcher = Watcher(rtype.key, namespace, lambda obj: True)
        initial: list[tuple[str, dict[str, Any]]] = []
        expired: str | None = None
        if rv_param in ("", "0") or send_initial:
            for stored in store.iter(rtype.key, namespace):
                if only_name is not None and stored["metadata"]["name"] != only_name:
                    continue
                view = registry.view(rtype, stored)
                if matches(view):
                    initial.append(("ADDED", view))
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv_param}"') from None
            if since < store.compacted_rv(rtype.key):
                expired = f"too old resource version: {since} ({store.compacted_rv(rtype.key)})"
            else:
                for event in store.history_since(rtype.key, since):
                    if namespace is not None and event.obj["metadata"].get("namespace") != namespace:
                        continue
                    translated = self._translate(rtype, event, matches)
                    if translated is not None:
                        initial.append(translated)
        store.add_watcher(watcher)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        first_table = True
        try:
            await response.prepare(request)

            async def send(kind: str, obj: dict[str, Any]) -> None:
                nonlocal first_table
                if as_table and kind in ("ADDED", "MODIFIED", "DELETED"):
                    rendered = tables.table(
                        rtype,
                        [obj],
                        resource_version=obj["metadata"].get("resourceVersion", ""),
                        include_object=include_object,
                        now=registry.clock(),
                    )
                    if not first_table:
                        rendered["columnDefinitions"] = []
                    first_table = False
                    obj = rendered
                await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

            if expired is not None:
                await send("ERROR", ApiError(410, "Expired", expired).status())
                return response
            for kind, obj in initial:
                await send(kind, obj)
            if send_initial:
                await send("BOOKMARK", self._bookmark(rtype, initial_end=True))
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.options.bookmark_interval
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    queued = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark:
                        await send("BOOKMARK", self._bookmark(rtype))
                        next_bookmark = time.monotonic() + self.options.bookmark_interval
                    continue
                if queued is None:
                    break
                translated = self._translate(rtype, queued, matches)
                if translated is not None:
                    await send(*translated)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            store.remove_watcher(watcher)
        return response

    def _translate(
        self, rtype: ResourceType, event: Event, matches: Callable[[dict[str, Any] | None], bool]
    ) -> tuple[str, dict[str, Any]] | None:
        """The event a filtered watch sees: objects entering the selection are ADDED, leaving it DELETED."""
        view = self.registry.view(rtype, event.obj)
        now = matches(view)
        before = event.prev is not None and matches(self.registry.view(rtype, event.prev))
        if event.type == "ADDED":
            return ("ADDED", view) if now else None
        if event.type == "DELETED":
            return ("DELETED", view) if now or before else None
        if now and before:
            return ("MODIFIED", view)
        if now:
            return ("ADDED", view)
        if before:
            return ("DELETED", view)
        return None

    def _bookmark(self, rtype: ResourceType, *, initial_end: bool = False) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(self.registry.store.rv)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata}


def _json(body: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


def _accepts_json(request: web.Request) -> bool:
    media = [m.split(";")[0].strip() for m in request.headers.get("Accept", "").split(",")]
    return not any(media) or bool({"application/json", "application/*", "*/*"} & set(media))


def _wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    for media in accept.split(","):
        params = {
            p.split("=")[0].strip(): p.split("=", 1)[-1].strip() for p in media.split(";")[1:] if "=" in p
        }
        if (
            params.get("as") == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return True
    return False


async def _read_body(request: web.Request) -> Any:
    raw = await request.read()
    content_type = request.content_type
    if content_type == "application/vnd.kubernetes.protobuf":
        try:
            return protobuf.decode(raw)
        except protobuf.ProtobufError:
            raise errors.unsupported_media_type(
                content_type, ["application/json", "application/yaml"]
            ) from None
    if "protobuf" in content_type or "cbor" in content_type:
        raise errors.unsupported_media_type(content_type, ["application/json", "application/yaml"])
    try:
        if content_type in ("application/yaml", "application/x-yaml"):
            return yaml.safe_load(raw)
        return json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the body of the request could not be decoded: {exc}") from None


def _parse_patch(content_type: str, raw: bytes) -> Any:
    accepted = [patches.JSON_PATCH, patches.MERGE_PATCH, patches.STRATEGIC_PATCH, patches.APPLY_PATCH]
    if content_type not in accepted:
        raise errors.unsupported_media_type(content_type, accepted)
    try:
        if content_type == patches.APPLY_PATCH:
            return yaml.safe_load(raw)
        return json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


async def _delete_options(request: web.Request) -> dict[str, Any]:
    options: dict[str, Any] = {}
    raw = await request.read()
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise errors.bad_request("DeleteOptions could not be decoded") from None
        if isinstance(parsed, dict):
            options.update(parsed)
    for key in ("propagationPolicy",):
        if key in request.query:
            options[key] = request.query[key]
    if "orphanDependents" in request.query:
        options["orphanDependents"] = request.query["orphanDependents"] == "true"
    if options.get("dryRun") not in (None, [], ["All"]):
        raise errors.bad_request(f'Unsupported dryRun value: "{options["dryRun"]}"')
    return options


def _dry(options: dict[str, Any]) -> bool:
    """`kubectl delete --dry-run=server` asks for a dry run in the DeleteOptions body, not the query."""
    return options.get("dryRun") == ["All"]


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"invalid integer {value!r}") from None


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise errors.bad_request(f"invalid number {value!r}") from None


def _escape_warning(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
