"""What a kind gives the runtime: the `Kind` it registers (speechendpoint/handlers.py is an example).

The runtime owns everything around a pass (kopf, the object's lock, reading the object, credentials, the
steps on the resource itself, the status write, events, logs, metrics, come-backs, the drift schedule,
deletion). A kind brings only what is about it: its CRD's coordinates, how to read a stored object, its
pure `plan`, its steps in Azure and how to reach its Azure API. A kind never touches kopf.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import AzureTarget, Credential
from azure_speech_operator.reconcile import ObservedBase, Outcome, Pass, ResourceBase

if TYPE_CHECKING:
    from azure_speech_operator.azure.client import AzureClient

ResourceT = TypeVar("ResourceT", bound=ResourceBase)
ObservedT = TypeVar("ObservedT", bound=ObservedBase)
StepT = TypeVar("StepT")
ClientT = TypeVar("ClientT")


def _no_description(step: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Kind(Generic[ResourceT, ObservedT, StepT, ClientT]):
    """One kind of resource the operator serves.

    - `build_resource(obj)`: a stored object (as the API server answers) as the kind's logic reads it;
    - `observed()`: what a pass starts from (nothing seen yet);
    - `plan(resource, observed, pass_)`: the next step, or the pass's Outcome (pure);
    - `run_step(step, observed, client)`: performs one of the kind's Azure steps (the runtime performs the
      steps on the resource itself, reconcile.RESOURCE_STEPS); an OperatorError it raises ends the pass;
    - `connect(azure, resource, credential)`: the kind's Azure API for the resource, with its credential;
    - `describe_write(step)`: the DEBUG line logged as an Azure write is sent, None for other steps.

    `logger` names the logger of the lines about this kind's objects.
    """

    kind: str
    group: str
    version: str
    plural: str
    logger: str
    build_resource: Callable[[Mapping[str, Any]], ResourceT]
    observed: Callable[[], ObservedT]
    plan: Callable[[ResourceT, ObservedT, Pass], StepT | Outcome]
    run_step: Callable[[StepT, ObservedT, ClientT], Awaitable[ObservedT]]
    connect: Callable[[AzureClient, ResourceT, Credential], ClientT]
    describe_write: Callable[[StepT], str | None] = _no_description
    # the endpoints an object's annotations record as its own (reconcile.recorded_endpoints, or the kind's)
    recorded_endpoints: Callable[[Mapping[str, str]], list[str]] = reconcile.recorded_endpoints

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def kind_of(
    spec: ModuleType,
    logic: ModuleType,
    steps: ModuleType,
    api: Callable[[AzureClient, AzureTarget, Credential], ClientT],
    logger: str,
) -> Kind[Any, Any, Any, ClientT]:
    """A kind from its folder's modules: `spec` (KIND, GROUP, VERSION, PLURAL, parse_stored_spec), `logic`
    (Resource, a reconcile.SpecResource; Observed; plan), `steps` (run_step, describe_write), and `api`, the
    AzureClient method for its API."""

    def connect(azure: AzureClient, resource: Any, credential: Credential) -> ClientT:
        # the spec, or on deletion what of an invalid one deletion needs
        assert resource.deletion_spec is not None
        return api(azure, resource.deletion_spec.azure.target(), credential)

    return Kind(
        kind=spec.KIND,
        group=spec.GROUP,
        version=spec.VERSION,
        plural=spec.PLURAL,
        logger=logger,
        build_resource=lambda obj: logic.Resource.read(obj, spec.parse_stored_spec),
        observed=logic.Observed,
        plan=logic.plan,
        run_step=steps.run_step,
        connect=connect,
        describe_write=steps.describe_write,
        recorded_endpoints=getattr(logic, "recorded_endpoints", reconcile.recorded_endpoints),
    )
