"""Small pure parts: the filter subset, timed actions, seed validation, config parsing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from azure_speech_operator.simulator import cli as sim_cli
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.config import RateLimit, ResourceConfig, SimulatorConfig
from azure_speech_operator.simulator.filters import FilterError, compile_filter
from azure_speech_operator.simulator.seed import Seed, SeedBaseModel, default_seed
from azure_speech_operator.simulator.state import Action, EntityError, iso, retry_after_seconds

FIELDS = {"status": "str", "displayName": "str", "createdDateTime": "time"}


def test_filter_clauses() -> None:
    keep = compile_filter("status eq 'Running' and createdDateTime ge 2026-01-01T00:00:00Z", FIELDS)
    assert keep({"status": "Running", "createdDateTime": 1_800_000_000})
    assert not keep({"status": "Running", "createdDateTime": 1_700_000_000})
    assert not keep({"status": "Failed", "createdDateTime": 1_800_000_000})
    assert compile_filter("displayName eq 'it''s'", FIELDS)({"displayName": "it's"})
    assert compile_filter("status ne 'Failed'", FIELDS)({"status": "Running"})
    assert compile_filter(None, FIELDS)({})


def test_filter_or_not_parentheses_and_quoted_keywords() -> None:
    either = compile_filter("status eq 'NotStarted' or status eq 'Running'", FIELDS)  # the spec's example
    assert either({"status": "Running"}) and either({"status": "NotStarted"})
    assert not either({"status": "Succeeded"})
    # `and` binds tighter than `or`; `not` tighter than both; parentheses regroup.
    loose = compile_filter("status eq 'a' or status eq 'b' and displayName eq 'x'", FIELDS)
    assert loose({"status": "a", "displayName": "y"})
    grouped = compile_filter("(status eq 'a' or status eq 'b') and displayName eq 'x'", FIELDS)
    assert not grouped({"status": "a", "displayName": "y"}) and grouped({"status": "b", "displayName": "x"})
    assert compile_filter("not status eq 'Failed'", FIELDS)({"status": "Running"})
    assert not compile_filter("NOT status eq 'Failed'", FIELDS)({"status": "Failed"})
    # Keywords inside a quoted value are part of the value.
    rock = compile_filter("displayName eq 'rock and roll' or displayName eq '(not)'", FIELDS)
    assert rock({"displayName": "rock and roll"}) and rock({"displayName": "(not)"})


def test_time_filters_compare_at_the_whole_seconds_the_api_shows() -> None:
    # Stored times keep fractions of a second; the API renders whole seconds, and a client filters on
    # what it was shown.
    created = 1_790_000_000.75
    shown = iso(created)
    entity = {"createdDateTime": created}
    for op, expected in (
        ("eq", True),
        ("ne", False),
        ("gt", False),
        ("ge", True),
        ("lt", False),
        ("le", True),
    ):
        assert compile_filter(f"createdDateTime {op} {shown}", FIELDS)(entity) is expected, op
    assert compile_filter("createdDateTime lt 2026-09-21T14:13:20.5Z", FIELDS)(entity)


@pytest.mark.parametrize(
    "text",
    [
        "status eq Running",  # unquoted string
        "status gt 'a'",  # ordering on a string
        "locale eq 'en-US'",  # unknown field
        "createdDateTime ge yesterday",
        "status eq 'a' or",  # dangling operator
        "(status eq 'a'",  # unclosed parenthesis
        "status eq 'a' status eq 'b'",  # two clauses without and/or
        "status like 'a'",  # not an operator
        "status eq 'a' ; drop",  # a character outside the language
    ],
)
def test_filter_refuses(text: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(text, FIELDS)


def test_action_walks_phases_and_can_be_forced_to_fail() -> None:
    action = Action(
        kind="deploy", started=100, phases=[("NotStarted", 10), ("Running", 20)], outcome="Succeeded"
    )
    assert action.status_at(105) == ("NotStarted", 100, 5)
    assert action.status_at(110) == ("Running", 110, 20)
    assert action.status_at(130) == ("Succeeded", 130, None)
    assert action.operation_status(105) == "NotStarted"
    assert action.operation_status(115) == "Running"
    assert action.operation_status(200) == "Succeeded"
    action.force_failure(115, EntityError(code="X", message="y"))
    assert action.status_at(129)[0] == "Running"
    assert action.status_at(130)[0] == "Failed"
    assert action.operation_status(130) == "Failed"
    idle = Action(kind="deploy", started=0, outcome="Succeeded")
    idle.force_failure(500, EntityError(code="X", message="y"))
    assert idle.status_at(500) == ("Failed", 500, None)


def test_retry_after_bounds() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(0.01) == 1
    assert retry_after_seconds(12.2) == 13
    assert retry_after_seconds(3600) == 60


def test_rate_limit_parse() -> None:
    assert RateLimit.parse("100/10") == RateLimit(requests=100, seconds=10)
    assert RateLimit.parse("0").requests == 0
    with pytest.raises(ValueError, match="N/S"):
        RateLimit.parse("fast")


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="unique"):
        SimulatorConfig(
            resources=(ResourceConfig(name="a", keys=("1",)), ResourceConfig(name="a", keys=("2",)))
        )
    with pytest.raises(ValueError, match="one resource"):
        SimulatorConfig(
            resources=(ResourceConfig(name="a", keys=("1",)), ResourceConfig(name="b", keys=("1",)))
        )
    with pytest.raises(ValueError, match="needs keys"):
        SimulatorConfig(resources=(ResourceConfig(name="a"), ResourceConfig(name="b", keys=("2",))))
    assert "secret" not in repr(ResourceConfig(keys=("secret",)))


def test_seed_ids_are_checked_and_the_default_has_what_tests_need() -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        SeedBaseModel(id="x", locale="en-US", display_name="y")
    seed = default_seed()
    assert Seed.model_validate(seed.dump()) == seed
    en_us = [m for m in seed.base_models if m.locale == "en-US"]
    assert sorted(m.transcription_in_days > 30 for m in en_us) == [False, False, True]
    assert any(0 < m.transcription_in_days <= 30 for m in en_us)
    assert any(m.transcription_in_days < 0 for m in en_us)


def _cli_config(*argv: str) -> SimulatorConfig:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    return sim_cli.build_config(parser.parse_args(list(argv)))


def test_cli_resources_with_their_own_rate_limits() -> None:
    config = _cli_config(
        "--keys", "k1,k2", "--rate-limit", "7/3", "--resource", "b=kb1,kb2@5/1", "--resource", "c=kc@0"
    )
    by_name = {r.name: r for r in config.resources}
    assert by_name["default"].keys == ("k1", "k2") and by_name["default"].rate_limit is None
    assert by_name["b"].keys == ("kb1", "kb2") and by_name["b"].rate_limit == RateLimit(requests=5, seconds=1)
    assert by_name["c"].rate_limit == RateLimit(requests=0)
    assert config.rate_limit == RateLimit(requests=7, seconds=3)
    with pytest.raises(ValueError, match="--resource b: rate limit must look like N/S"):
        _cli_config("--keys", "k", "--resource", "b=kb@lots")
    with pytest.raises(ValueError, match="--resource must look like NAME=KEY1,KEY2"):
        _cli_config("--keys", "k", "--resource", "b=@5/1")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--time-scale", "0"], "--time-scale: Input should be greater than 0 (got 0.0)"),
        (["--fault-rate", "2"], "--fault-rate: Input should be less than or equal to 1"),
        (["--deploy-failure-rate", "-1"], "--deploy-failure-rate: "),
        (["--quota", "-1"], "--quota: "),
        (["--voice-resume-seconds", "-3"], "--voice-resume-seconds: "),
        (["--keys", "k", "--resource", "a=k"], "--keys/--resource: a key can belong to one resource only"),
        (["--resource", "a=k"], "--keys/--resource: with several resources every resource needs keys"),
        (["--keys", "z", "--resource", "a%=k"], "--resource: resource name 'a%' must be"),
    ],
)
def test_cli_errors_name_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        _cli_config(*argv)
    assert str(info.value).startswith(message), str(info.value)
    assert "pydantic" not in str(info.value)


def _config_locations() -> list[tuple[str | int, ...]]:
    """Every field path a SimulatorConfig validation error can name (nested models included)."""
    from azure_speech_operator.simulator.config import Durations

    # `durations` as a whole is never wrong from the command line: it builds Durations from the flags.
    paths: list[tuple[str | int, ...]] = [(n,) for n in SimulatorConfig.model_fields if n != "durations"]
    paths += [("durations", name) for name in Durations.model_fields]
    paths += [(name,) for name in Durations.model_fields]  # the command builds Durations on its own
    paths += [("rate_limit", name) for name in RateLimit.model_fields]
    paths += [("resources", 0, name) for name in ResourceConfig.model_fields]
    paths += [("resources", 0, "rate_limit", name) for name in RateLimit.model_fields]
    paths += [("fault_kinds", 0), ("resources", 0, "bearer_tokens", 0), ()]
    return paths


@pytest.mark.parametrize("loc", _config_locations(), ids=lambda loc: ".".join(map(str, loc)) or "model")
def test_every_config_error_names_a_flag_that_exists(loc: tuple[str | int, ...]) -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    for flag in sim_cli._flag(loc).split("/"):
        assert flag in parser._option_string_actions, (loc, flag)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("baseModels:\n  - {id: %s, locale: en-US, displayName: x, createdDaysAgo: 1e9}\n", "days must be"),
        ("customModels:\n  - {id: %s, locale: en-US, displayName: x, transcriptionInDays: .nan}\n", "finite"),
        ("voiceEndpoints:\n  - {id: %s, projectId: p, modelId: m, createdDaysAgo: -1e6}\n", "days must be"),
    ],
)
def test_seed_days_must_be_finite_and_within_a_century(tmp_path: Path, content: str, problem: str) -> None:
    from azure_speech_operator.simulator.seed import SeedFileError, load_seed

    path = tmp_path / "seed.yaml"
    path.write_text(content % ids.BASE_EN_US_CURRENT)
    with pytest.raises(SeedFileError) as info:
        load_seed(path)
    assert str(path) in str(info.value) and problem in str(info.value) and "\n" not in str(info.value)


_EP = "00000000-0000-4000-8000-0000000000aa"
_ENDPOINT = "{id: " + _EP + ", displayName: a"
_MISSING = "c0570099-0000-4000-8000-000000000001"


def _speech_endpoints(*fields: str) -> str:
    return "speechEndpoints:\n" + "".join(f"  - {_ENDPOINT}, {f}}}\n" for f in fields)


def _voice_endpoint(project: str, model: str) -> str:
    return f"voiceEndpoints:\n  - {{id: {_EP}, projectId: {project}, modelId: {model}}}\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            _speech_endpoints(f"locale: en-US, model: {_MISSING}"),
            f"speechEndpoints.0.model: no baseModels or customModels entry has the id '{_MISSING}'",
        ),
        (
            _speech_endpoints(f"locale: de-DE, model: {ids.CUSTOM_EN_US_DEPLOYABLE}"),
            f"speechEndpoints.0.locale: 'de-DE' is not the locale of its model {ids.CUSTOM_EN_US_DEPLOYABLE}",
        ),
        (
            _speech_endpoints(f"locale: en-US, model: {ids.BASE_EN_US_CURRENT}, project: {_MISSING}"),
            f"speechEndpoints.0.project: no projects entry has the id '{_MISSING}'",
        ),
        (
            _speech_endpoints(*[f"locale: en-US, model: {ids.BASE_EN_US_CURRENT}"] * 2),
            f"speechEndpoints.1.id: '{_EP}' is also the id of speechEndpoints.0",
        ),
        (  # the lists a file leaves out are checked too: the built-in custom models lose their base models
            "baseModels:\n  - {id: 11111111-1111-4111-8111-111111111111, locale: fr-FR, displayName: fr}\n",
            f"customModels.0.baseModel: no baseModels entry has the id '{ids.BASE_EN_US_CURRENT}'",
        ),
        (
            f"customModels:\n  - {{id: {ids.BASE_EN_US_CURRENT}, locale: en-US, displayName: c}}\n",
            f"customModels.0.id: '{ids.BASE_EN_US_CURRENT}' is also the id of baseModels.0",
        ),
        (
            f"customModels:\n  - {{id: {ids.CUSTOM_EN_US_DEPLOYABLE}, locale: de-DE, displayName: c,"
            f" baseModel: {ids.BASE_EN_US_CURRENT}}}\n",
            f"customModels.0.locale: 'de-DE' is not the locale of its baseModel {ids.BASE_EN_US_CURRENT}",
        ),
        (
            "voiceModels:\n  - {id: Orphan, projectId: Nobody}\n",
            "voiceModels.0.projectId: no voiceProjects entry has the id 'Nobody'",
        ),
        (
            _voice_endpoint("Nope", "Jessica"),
            "voiceEndpoints.0.projectId: no voiceProjects entry has the id 'Nope'",
        ),
        (
            _voice_endpoint("Hans", "Nope"),
            "voiceEndpoints.0.modelId: no voiceModels entry has the id 'Nope'",
        ),
        (
            _voice_endpoint("Hans", "Jessica"),
            "voiceEndpoints.0.modelId: 'Jessica' is a model of project 'Jessica', not of 'Hans'",
        ),
        (
            "voiceProjects:\n  - {id: Jessica}\n  - {id: Hans}\n  - {id: Jessica}\n",
            "voiceProjects.2.id: 'Jessica' is also the id of voiceProjects.0",
        ),
    ],
)
def test_a_seed_file_naming_what_it_does_not_have_is_refused(
    tmp_path: Path, content: str, problem: str
) -> None:
    from azure_speech_operator.simulator.seed import SeedFileError, load_seed

    path = tmp_path / "seed.yaml"
    path.write_text(content)
    with pytest.raises(SeedFileError) as info:
        load_seed(path)
    assert str(info.value).startswith(f"{path}: ") and problem in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_the_built_in_seed_resolves_every_reference() -> None:
    from azure_speech_operator.simulator.seed import reference_problems

    assert reference_problems(default_seed()) == []


def test_seed_references_are_kept_in_the_ids_lower_case(tmp_path: Path) -> None:
    from azure_speech_operator.simulator.seed import load_seed

    path = tmp_path / "seed.yaml"
    model, project = ids.CUSTOM_EN_US_DEPLOYABLE.upper(), ids.PROJECT_EN_US.upper()
    path.write_text(_speech_endpoints(f"locale: en-US, model: {model}, project: {project}"))
    endpoint = load_seed(path).speech_endpoints[0]
    assert (endpoint.model, endpoint.project) == (ids.CUSTOM_EN_US_DEPLOYABLE, ids.PROJECT_EN_US)


def test_a_seeded_voice_model_has_a_recipe_kind_models_create_takes(tmp_path: Path) -> None:
    from azure_speech_operator.simulator.seed import SeedFileError, load_seed

    path = tmp_path / "seed.yaml"
    path.write_text("voiceModels:\n  - {id: Lite1, projectId: Jessica, recipeKind: Lite}\n")
    with pytest.raises(SeedFileError, match="recipe kind must be one of Default, MultiStyle"):
        load_seed(path)


def test_fault_kinds_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="at least one fault kind"):
        SimulatorConfig(fault_kinds=())
