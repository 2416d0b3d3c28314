"""kopf drops annotations under its storage prefix from the diff that triggers update handlers. These tests
run kopf's own diff-base and progress storages (as configured by the runner) the way kopf's processing does
(kopf/_core/reactor/processing.py), to show which annotation changes reach the handlers."""

import copy
from typing import Any

import kopf
from azure_speech_operator.reconcile import FINALIZER, KOPF_PREFIX
from azure_speech_operator.runner import build_kopf_settings
from azure_speech_operator.runtime.credentials import ROTATED_ANNOTATION
from azure_speech_operator.settings import OperatorSettings
from kopf._cogs.structs import bodies, diffs, patches, references

REQUESTED = "speech.azure-operator.io/reconcile-requested-at"

BODY: dict[str, Any] = {
    "apiVersion": "speech.azure-operator.io/v1alpha1",
    "kind": "SpeechEndpoint",
    "metadata": {
        "name": "call-center",
        "namespace": "team-a",
        "uid": "u1",
        "annotations": {REQUESTED: "2026-11-21T06:00:00Z"},
    },
    "spec": {"locale": "en-US"},
}


def handled(settings: kopf.OperatorSettings, body: dict[str, Any]) -> dict[str, Any]:
    """The body as stored after kopf handled it: diff-base and progress annotations written."""
    patch = patches.Patch()
    wrapped = bodies.Body(body)
    essence = settings.persistence.diffbase_storage.build(body=wrapped)
    settings.persistence.diffbase_storage.store(body=wrapped, patch=patch, essence=essence)
    settings.persistence.progress_storage.store(
        key=kopf.HandlerId("reconcile"),
        record={"started": "2026-11-21T06:00:00", "retries": 1},
        body=wrapped,
        patch=patch,
    )
    stored = copy.deepcopy(body)
    stored["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    return stored


def diff_seen_by_kopf(settings: kopf.OperatorSettings, body: dict[str, Any]) -> diffs.Diff:
    wrapped = bodies.Body(body)
    old = settings.persistence.diffbase_storage.fetch(body=wrapped)
    new = settings.persistence.diffbase_storage.build(body=wrapped)
    old = settings.persistence.progress_storage.clear(essence=old) if old is not None else None
    new = settings.persistence.progress_storage.clear(essence=new)
    return diffs.diff(old, new)


def with_annotation(body: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["metadata"]["annotations"][key] = value
    return changed


def test_kopf_storage_uses_its_own_prefix_and_our_finalizer() -> None:
    settings = build_kopf_settings(OperatorSettings())
    stored = handled(settings, BODY)
    kopf_keys = set(stored["metadata"]["annotations"]) - {REQUESTED}
    assert kopf_keys and all(k.startswith(f"{KOPF_PREFIX}/") for k in kopf_keys)
    assert settings.persistence.finalizer == FINALIZER == "speech.azure-operator.io/finalizer"
    assert settings.posting.loggers is False
    assert settings.peering.standalone is True


def test_kopf_bookkeeping_alone_is_no_change() -> None:
    settings = build_kopf_settings(OperatorSettings())
    stored = handled(settings, BODY)
    assert not diff_seen_by_kopf(settings, stored)
    retried = with_annotation(stored, f"{KOPF_PREFIX}/reconcile", '{"retries": 2}')
    assert not diff_seen_by_kopf(settings, retried)


def test_reconcile_requested_at_change_reaches_handlers() -> None:
    settings = build_kopf_settings(OperatorSettings())
    stored = handled(settings, BODY)
    changed = with_annotation(stored, REQUESTED, "2026-11-21T07:00:00Z")
    assert list(diff_seen_by_kopf(settings, changed)) == [
        diffs.DiffItem(
            diffs.DiffOperation.CHANGE,
            ("metadata", "annotations", REQUESTED),
            "2026-11-21T06:00:00Z",
            "2026-11-21T07:00:00Z",
        )
    ]


def test_credentials_rotated_annotation_reaches_handlers() -> None:
    settings = build_kopf_settings(OperatorSettings())
    stored = handled(settings, BODY)
    changed = with_annotation(stored, ROTATED_ANNOTATION, "2026-11-21T07:00:00+00:00")
    (item,) = diff_seen_by_kopf(settings, changed)
    assert item.operation is diffs.DiffOperation.ADD
    assert item.field == ("metadata", "annotations", ROTATED_ANNOTATION)


def test_control_with_kopf_storing_under_the_user_prefix_the_change_is_lost() -> None:
    """Why the prefixes differ: with kopf's storage on the user prefix, kopf marks it as its own and a
    `reconcile-requested-at` change would never trigger a handler."""
    settings = build_kopf_settings(OperatorSettings())
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="speech.azure-operator.io", v1=False
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="speech.azure-operator.io", v1=False
    )
    stored = handled(settings, BODY)
    changed = with_annotation(stored, REQUESTED, "2026-11-21T07:00:00Z")
    assert not diff_seen_by_kopf(settings, changed)


def test_only_labelled_secrets_are_watched_server_side() -> None:
    settings = build_kopf_settings(OperatorSettings())

    def resource(group: str, version: str, plural: str) -> references.Resource:
        return references.Resource(group=group, version=version, plural=plural, namespaced=True)

    selectors = settings.watching.label_selectors
    assert list(selectors.collect(resource("", "v1", "secrets"))) == [
        "speech.azure-operator.io/credentials=true"
    ]
    assert list(selectors.collect(resource("", "v1", "configmaps"))) == []
    assert list(selectors.collect(resource("speech.azure-operator.io", "v1alpha1", "speechendpoints"))) == []


def test_kube_api_failures_are_retried_for_minutes_before_kopf_gives_up() -> None:
    # kopf logs an ERROR when it gives up on a request: with its own backoffs (54 s in all) an API server
    # restart of a minute did that (tests/reliability/test_kube_faults.py with KUBE_FAULTS_OUTAGE=75)
    backoffs = list(build_kopf_settings(OperatorSettings()).networking.error_backoffs)
    assert backoffs[:3] == [1.0, 1.0, 2.0]  # a blip still costs a second
    assert 240 <= sum(backoffs) <= 360 and max(backoffs) <= 30
