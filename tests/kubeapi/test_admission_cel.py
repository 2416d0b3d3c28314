"""x-kubernetes-validations: CEL rules, transition rules, messages, reasons, fieldPath, CEL libraries."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission
from tests.kubeapi.admission.cel import CelCompileError, CelValidator, escape_property
from tests.kubeapi.admission.testing import spec_admission, transcriber, transcriber_crd, widget


def run(spec_schema: dict[str, Any], spec: Any, old_spec: Any = None) -> list[str]:
    admission = spec_admission(spec_schema)
    old = widget(old_spec) if old_spec is not None else None
    try:
        admission.admit("v1alpha1", widget(spec), old)
    except AdmissionError as exc:
        return [str(c) for c in exc.causes]
    return []


def ruled(rule: str, **extra: Any) -> dict[str, Any]:
    """A spec schema with one rule at spec and a few typed fields."""
    return {
        "type": "object",
        "x-kubernetes-validations": [{"rule": rule, **extra}],
        "properties": {
            "s": {"type": "string"},
            "n": {"type": "integer"},
            "f": {"type": "number"},
            "l": {"type": "array", "items": {"type": "string"}},
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
            "t": {"type": "string", "format": "date-time"},
            "d": {"type": "string", "format": "duration"},
        },
    }


class TestRuleOutcome:
    def test_passing_rule(self) -> None:
        assert run(ruled("self.n > 1"), {"n": 2}) == []

    def test_failing_rule_with_message(self) -> None:
        assert run(ruled("self.n > 1", message="n must exceed 1"), {"n": 1}) == [
            'spec: Invalid value: "object": n must exceed 1'
        ]

    def test_failing_rule_without_message(self) -> None:
        assert run(ruled("self.n > 1"), {"n": 1}) == [
            'spec: Invalid value: "object": failed rule: self.n > 1'
        ]

    def test_rule_at_a_scalar_shows_its_type(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "locale": {
                    "type": "string",
                    "x-kubernetes-validations": [{"rule": "self.size() == 5", "message": "bad locale"}],
                }
            },
        }
        assert run(schema, {"locale": "english"}) == ['spec.locale: Invalid value: "string": bad locale']

    def test_rule_at_the_root_is_reported_at_nil(self) -> None:
        from tests.kubeapi.admission.testing import crd_with_schema

        crd = crd_with_schema(
            {
                "type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.metadata.name.startsWith('x')", "message": "name"}
                ],
                "properties": {"spec": {"type": "object"}},
            }
        )
        with pytest.raises(AdmissionError) as info:
            CustomResourceAdmission(crd).admit("v1alpha1", widget({}))
        assert [str(c) for c in info.value.causes] == ['<nil>: Invalid value: "object": name']

    def test_rules_do_not_run_on_absent_values(self) -> None:
        schema = {
            "type": "object",
            "properties": {"a": {"type": "string", "x-kubernetes-validations": [{"rule": "self == 'x'"}]}},
        }
        assert run(schema, {}) == []

    def test_evaluation_error_names_the_rule(self) -> None:
        assert run(ruled("self.s == 'x'"), {}) == [
            "spec: Invalid value: \"object\": no such key: s evaluating rule: self.s == 'x'"
        ]

    def test_rules_in_list_items_and_map_values_get_their_paths(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "l": {
                    "type": "array",
                    "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'bad'"}]},
                },
                "m": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "string",
                        "x-kubernetes-validations": [{"rule": "self != 'bad'"}],
                    },
                },
            },
        }
        assert run(schema, {"l": ["ok", "bad"], "m": {"team": "bad"}}) == [
            "spec.l[1]: Invalid value: \"string\": failed rule: self != 'bad'",
            "spec.m[team]: Invalid value: \"string\": failed rule: self != 'bad'",
        ]

    def test_schema_type_errors_block_rules(self) -> None:
        causes = run(ruled("self.n > 1", message="n"), {"n": "x"})
        assert causes[-1].startswith('<nil>: Invalid value: "null": some validation rules were not checked')
        assert not any(c.endswith(": n") for c in causes)

    @pytest.mark.parametrize(
        ("extra", "spec"),
        [
            ({"required": ["s"]}, {"n": 0}),
            ({"properties": {"s": {"type": "string", "maxLength": 1}}}, {"n": 0, "s": "abc"}),
            ({"properties": {"s": {"type": "string", "enum": ["a"]}}}, {"n": 0, "s": "b"}),
            (
                {
                    "properties": {
                        "m": {
                            "type": "object",
                            "maxProperties": 1,
                            "additionalProperties": {"type": "string"},
                        }
                    }
                },
                {"n": 0, "m": {"a": "1", "b": "2"}},
            ),
        ],
        ids=["required", "too-long", "not-supported", "too-many"],
    )
    def test_blocking_schema_errors_stop_rules(self, extra: dict[str, Any], spec: dict[str, Any]) -> None:
        schema = ruled("self.n > 1", message="n too small")
        schema["properties"].update(extra.pop("properties", {}))
        schema.update(extra)
        causes = run(schema, spec)
        assert causes[-1] == (
            '<nil>: Invalid value: "null": some validation rules were not checked because the object was '
            "invalid; correct the existing errors to complete validation"
        )
        assert len(causes) == 2

    def test_other_schema_errors_do_not_block_rules(self) -> None:
        schema = ruled("self.n > 1", message="n too small")
        schema["properties"]["s"]["pattern"] = "^a$"
        schema["properties"]["f"]["minimum"] = 1
        assert run(schema, {"n": 0, "s": "b", "f": 0.5}) == [
            "spec.s: Invalid value: \"b\": spec.s in body should match '^a$'",
            "spec.f: Invalid value: 0.5: spec.f in body should be greater than or equal to 1",
            'spec: Invalid value: "object": n too small',
        ]


class TestMessages:
    def test_message_expression(self) -> None:
        schema = ruled("self.n > 1", messageExpression="'n is ' + string(self.n) + ', must exceed 1'")
        assert run(schema, {"n": 0}) == ['spec: Invalid value: "object": n is 0, must exceed 1']

    def test_message_expression_falls_back_to_message_when_it_fails(self) -> None:
        schema = ruled("self.n > 1", messageExpression="self.s + '!'", message="static")  # s is absent
        assert run(schema, {"n": 0}) == ['spec: Invalid value: "object": static']

    def test_message_expression_falls_back_when_blank(self) -> None:
        schema = ruled("self.n > 1", messageExpression="'  '")
        assert run(schema, {"n": 0}) == ['spec: Invalid value: "object": failed rule: self.n > 1']


class TestReasonsAndFieldPath:
    def test_reason_forbidden(self) -> None:
        assert run(ruled("!has(self.s)", message="no s", reason="FieldValueForbidden"), {"s": "x"}) == [
            "spec: Forbidden: no s"
        ]

    def test_reason_required(self) -> None:
        assert run(ruled("has(self.s)", message="s please", reason="FieldValueRequired"), {}) == [
            "spec: Required value: s please"
        ]

    def test_reason_duplicate(self) -> None:
        assert run(ruled("false", reason="FieldValueDuplicate"), {}) == ['spec: Duplicate value: "object"']

    def test_reason_sets_the_cause_type(self) -> None:
        admission = spec_admission(ruled("false", message="m", reason="FieldValueForbidden"))
        with pytest.raises(AdmissionError) as info:
            admission.admit("v1alpha1", widget({}))
        assert [(c.field, c.type, c.message) for c in info.value.causes] == [
            ("spec", "FieldValueForbidden", "Forbidden: m")
        ]

    def test_field_path_moves_the_error(self) -> None:
        schema = ruled("self.n > 1", message="too small", fieldPath=".n")
        assert run(schema, {"n": 0}) == ['spec.n: Invalid value: "integer": too small']

    def test_field_path_into_a_map_key(self) -> None:
        schema = ruled("!('x' in self.m)", message="no x", fieldPath=".m['x']")
        assert run(schema, {"m": {"x": "1"}}) == ['spec.m[x]: Invalid value: "string": no x']


class TestTransitionRules:
    IMMUTABLE = {
        "type": "object",
        "properties": {
            "locale": {
                "type": "string",
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "locale is immutable"}],
            }
        },
    }

    def test_not_evaluated_on_create(self) -> None:
        assert run(self.IMMUTABLE, {"locale": "en-US"}) == []

    def test_evaluated_on_update(self) -> None:
        assert run(self.IMMUTABLE, {"locale": "de-DE"}, {"locale": "en-US"}) == [
            'spec.locale: Invalid value: "string": locale is immutable'
        ]
        assert run(self.IMMUTABLE, {"locale": "en-US"}, {"locale": "en-US"}) == []

    def test_not_evaluated_when_the_old_value_is_absent(self) -> None:
        assert run(self.IMMUTABLE, {"locale": "de-DE"}, {}) == []

    def test_object_equality(self) -> None:
        schema = {**ruled("self == oldSelf", message="frozen")}
        assert run(schema, {"m": {"a": "1"}, "l": ["x"]}, {"m": {"a": "1"}, "l": ["x"]}) == []
        assert run(schema, {"m": {"a": "2"}, "l": ["x"]}, {"m": {"a": "1"}, "l": ["x"]}) == [
            'spec: Invalid value: "object": frozen'
        ]

    def test_set_once(self) -> None:
        rule = "!has(oldSelf.s) || (has(self.s) && self.s == oldSelf.s)"
        schema = ruled(rule, message="s can be set once", fieldPath=".s")
        assert run(schema, {"s": "a"}, {}) == []
        assert run(schema, {"s": "b"}, {"s": "a"}) == ['spec.s: Invalid value: "string": s can be set once']
        assert run(schema, {}, {"s": "a"}) == ['spec.s: Invalid value: "string": s can be set once']

    def test_non_transition_rules_run_on_update_too(self) -> None:
        assert run(ruled("self.n > 1"), {"n": 0}, {"n": 5}) == [
            'spec: Invalid value: "object": failed rule: self.n > 1'
        ]

    def test_optional_old_self_runs_on_create(self) -> None:
        rule = "!oldSelf.hasValue() || self.n >= oldSelf.value().n"
        schema = ruled(rule, message="n may only grow", optionalOldSelf=True)
        assert run(schema, {"n": 1}) == []
        assert run(schema, {"n": 1}, {"n": 2}) == ['spec: Invalid value: "object": n may only grow']
        schema = ruled("oldSelf.hasValue()", message="updates only", optionalOldSelf=True)
        assert run(schema, {"n": 1}) == ['spec: Invalid value: "object": updates only']

    def test_list_map_items_correlate_by_key(self) -> None:
        item = {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.size >= oldSelf.size", "message": "cannot shrink"}],
        }
        schema = {
            "type": "object",
            "properties": {
                "disks": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": item,
                }
            },
        }
        old = {"disks": [{"name": "a", "size": 5}, {"name": "b", "size": 5}]}
        new = {"disks": [{"name": "b", "size": 4}, {"name": "a", "size": 6}, {"name": "c", "size": 1}]}
        assert run(schema, new, old) == ['spec.disks[0]: Invalid value: "object": cannot shrink']

    def test_old_self_is_refused_under_lists_that_do_not_correlate(self) -> None:
        item = {
            "type": "string",
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "never"}],
        }
        schema = {"type": "object", "properties": {"l": {"type": "array", "items": item}}}
        with pytest.raises(CelCompileError) as info:
            CelValidator(schema, "s")
        assert info.value.forbidden
        assert info.value.detail == (
            "oldSelf cannot be used on the uncorrelatable portion of the schema within s.properties[l]"
        )

    def test_old_self_on_the_list_itself_is_fine(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "l": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-validations": [
                        {"rule": "size(self) >= size(oldSelf)", "message": "append only"}
                    ],
                }
            },
        }
        assert run(schema, {"l": ["a"]}, {"l": ["a", "b"]}) == ['spec.l: Invalid value: "array": append only']


class TestLibraries:
    @pytest.mark.parametrize(
        ("rule", "spec"),
        [
            ("self.s.matches('^[a-z]+$')", {"s": "abc"}),
            ("size(self.l) == 2 && self.l.size() == 2", {"l": ["a", "b"]}),
            ("has(self.s) && !has(self.n)", {"s": "x"}),
            ("self.l.all(x, x.startsWith('a'))", {"l": ["ab", "ac"]}),
            ("self.l.exists(x, x.endsWith('z'))", {"l": ["ab", "az"]}),
            ("self.l.exists_one(x, x.contains('b'))", {"l": ["ab", "az"]}),
            ("self.l.map(x, x + '!') == ['a!', 'b!']", {"l": ["a", "b"]}),
            ("self.l.filter(x, x != 'a') == ['b']", {"l": ["a", "b"]}),
            ("self.m.all(k, size(k) <= 4)", {"m": {"team": "a"}}),
            ("'team' in self.m && self.m['team'] == 'a'", {"m": {"team": "a"}}),
            ("self.s.lowerAscii() == 'abc' && self.s.upperAscii() == 'ABC'", {"s": "aBc"}),
            ("self.s.split(',') == ['a', 'b']", {"s": "a,b"}),
            ("self.s.trim() == 'a'", {"s": "  a "}),
            ("self.s.replace('a', 'b') == 'bb'", {"s": "ab"}),
            ("self.s.indexOf('c') == 2 && self.s.lastIndexOf('a') == 3", {"s": "abca"}),
            ("self.s.substring(1, 3) == 'bc' && self.s.substring(2) == 'cd'", {"s": "abcd"}),
            ("self.l.join('-') == 'a-b' && self.l.join() == 'ab'", {"l": ["a", "b"]}),
            ("self.s.charAt(1) == 'b'", {"s": "abc"}),
            ("isURL(self.s) && url(self.s).getScheme() == 'https'", {"s": "https://x.example.com:8443/p"}),
            ("url(self.s).getHost() == 'x.example.com:8443'", {"s": "https://x.example.com:8443/p"}),
            (
                "url(self.s).getHostname() == 'x.example.com' && url(self.s).getPort() == '8443'",
                {"s": "https://x.example.com:8443/p"},
            ),
            ("!isURL(self.s)", {"s": "not a url"}),
            ("self.n + 1 == 3 && self.f > 1.0", {"n": 2, "f": 1.5}),
            ("self.f == 2.0", {"f": 2}),
            ("self.t < timestamp('2030-01-01T00:00:00Z')", {"t": "2027-01-15T00:00:00Z"}),
            ("self.d > duration('1h')", {"d": "2h"}),
            ("[3, 1].sum() == 4 && [1, 2].isSorted() && [2, 5].max() == 5 && [2, 5].min() == 2", {}),
            ("self.s.find('[0-9]+') == '42' && self.s.findAll('[a-z]') == ['a', 'b']", {"s": "a42b"}),
            ("isQuantity(self.s) && quantity(self.s).isLessThan(quantity('1Gi'))", {"s": "512Mi"}),
            (
                "quantity(self.s) == quantity('1500m') && quantity(self.s).compareTo(quantity('2')) == -1",
                {"s": "1.5"},
            ),
            ("quantity('1k').asInteger() == 1000 && quantity('1Ki').add(24).asInteger() == 1048", {}),
            ("!quantity('500m').isInteger() && quantity('1e3').sub(quantity('1k')).sign() == 0", {}),
            ("quantity('250m').asApproximateFloat() == 0.25 && !isQuantity('ten')", {}),
        ],
    )
    def test_function(self, rule: str, spec: dict[str, Any]) -> None:
        assert run(ruled(rule), spec) == []

    def test_optional_field_selection_is_refused_when_the_crd_is_written(self) -> None:
        # cel-python has no optional syntax (self.?x); a CRD using it is refused rather than failing later
        with pytest.raises(CelCompileError, match="compilation failed"):
            CelValidator(ruled("self.?s.orValue('none') == 'none'"))

    def test_escaped_property_names(self) -> None:
        schema = {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.x__dash__y == 'a' && self.__namespace__ == 'b'"}],
            "properties": {"x-y": {"type": "string"}, "namespace": {"type": "string"}},
        }
        assert run(schema, {"x-y": "a", "namespace": "b"}) == []

    @pytest.mark.parametrize(
        ("name", "escaped"),
        [
            ("a", "a"),
            ("x-y", "x__dash__y"),
            ("a.b", "a__dot__b"),
            ("a/b", "a__slash__b"),
            ("a__b", "a__underscores__b"),
            ("in", "__in__"),
            ("namespace", "__namespace__"),
            ("1a", None),
        ],
    )
    def test_escape_property(self, name: str, escaped: str | None) -> None:
        assert escape_property(name) == escaped


class TestCompilation:
    def test_rules_are_compiled_once_per_crd(self) -> None:
        validator = CelValidator(transcriber_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        assert validator.rule_count == 6

    def test_syntax_error(self) -> None:
        with pytest.raises(CelCompileError) as info:
            CelValidator(ruled("self.n >"), "x")
        assert info.value.path == "x.x-kubernetes-validations[0].rule"
        assert "compilation failed" in info.value.detail

    def test_unknown_function(self) -> None:
        with pytest.raises(CelCompileError, match="undeclared reference to 'frobnicate'"):
            CelValidator(ruled("self.s.frobnicate()"))

    def test_undefined_field_is_refused(self) -> None:
        with pytest.raises(CelCompileError, match="undefined field 'locale'"):
            CelValidator(ruled("self.locale == 'x'"))

    def test_undefined_field_in_a_transition_rule_and_message_expression(self) -> None:
        with pytest.raises(CelCompileError, match="undefined field 'nn'"):
            CelValidator(ruled("self.n == oldSelf.nn"))
        with pytest.raises(CelCompileError, match="messageExpression"):
            CelValidator(ruled("true", messageExpression="'got ' + self.zz"))

    @pytest.mark.parametrize(
        "rule",
        [
            "self.m.anything == 'x'",  # maps allow any key
            "self.s.size() > 0 && self.l.all(x, x.whatever)",  # methods and macro variables are not checked
            "self.s == 'self.nothing'",  # string literals are not code
            "has(self.x__dash__y)",
        ],
    )
    def test_field_check_leaves_legal_selections_alone(self, rule: str) -> None:
        schema = ruled(rule)
        schema["properties"]["x-y"] = {"type": "string"}
        CelValidator(schema)

    def test_root_rules_may_read_type_meta_and_metadata(self) -> None:
        schema = {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.metadata.name.size() < 10 && self.kind == 'Widget'"}],
            "properties": {"spec": {"type": "object"}},
        }
        CelValidator(schema)

    def test_bad_reason(self) -> None:
        with pytest.raises(CelCompileError, match="unsupported reason"):
            CelValidator(ruled("true", reason="Nope"))

    def test_bad_field_path(self) -> None:
        with pytest.raises(CelCompileError, match="fieldPath"):
            CelValidator(ruled("true", fieldPath="spec..x"))

    def test_message_with_a_line_break(self) -> None:
        with pytest.raises(CelCompileError, match="message must not contain line breaks"):
            CelValidator(ruled("true", message="two\nlines"))

    def test_field_path_to_an_undeclared_field(self) -> None:
        with pytest.raises(CelCompileError, match="fieldPath must be a valid path: nope does not exist"):
            CelValidator(ruled("true", fieldPath=".nope"))


class TestFixtureCrd:
    def test_immutable_locale_via_admit(self) -> None:
        admission = CustomResourceAdmission(transcriber_crd())
        old = admission.admit("v1alpha1", transcriber())
        with pytest.raises(AdmissionError) as info:
            admission.admit("v1alpha1", transcriber(locale="de-DE"), old)
        assert [str(c) for c in info.value.causes] == [
            'spec.locale: Invalid value: "string": locale is immutable'
        ]

    def test_admission_is_fast(self) -> None:
        admission = CustomResourceAdmission(transcriber_crd())
        obj = transcriber(customProperties={"team": "a"}, tags=["x"], exportTo={"configMapName": "cm"})
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        old = admission.admit("v1alpha1", obj)
        runs = 50
        start = time.perf_counter()
        for _ in range(runs):
            admission.admit("v1alpha1", obj, old)
        per_call = (time.perf_counter() - start) / runs
        assert per_call < 0.010, f"{per_call * 1000:.1f} ms per admission"
