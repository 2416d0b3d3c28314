"""x-kubernetes-validations: CEL rules compiled once per schema, evaluated with `self` bound at their node.

Transition rules (those that mention oldSelf) run only when the old object has a value at the same place
(properties and additionalProperties by key, items of x-kubernetes-list-type=map lists by their keys), unless
optionalOldSelf asks for them to run on create too, with oldSelf an optional.
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import cel as cel_engine

from .celfuncs import FUNCTIONS, KNOWN_FUNCTIONS
from .errors import FieldError, Path, PathSeg, field_error
from .schema import correlate_items

Schema = dict[str, Any]

_RESERVED = {
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
}  # fmt: skip
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MACRO_VAR = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


class CelCompileError(Exception):
    """A rule, messageExpression or fieldPath that the apiserver would refuse when the CRD is written."""

    def __init__(self, path: str, value: str, detail: str, *, forbidden: bool = False) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.value = value
        self.detail = detail
        self.forbidden = forbidden


def escape_property(name: str) -> str | None:
    """The CEL name of an object property (Kubernetes' escaping), None if the property is not accessible."""
    if name in _RESERVED:
        return f"__{name}__"
    escaped = (
        name.replace("__", "__underscores__")
        .replace(".", "__dot__")
        .replace("-", "__dash__")
        .replace("/", "__slash__")
    )
    return escaped if _IDENT.match(escaped) else None


def _compile(source: str, path: str) -> Any:
    """Parses source and checks that it only calls known functions and names known variables."""
    try:
        program = cel_engine.compile(source)
    except ValueError as exc:
        text = str(exc)
        detail = text[text.index("ERROR:") :] if "ERROR:" in text else text
        raise CelCompileError(path, source, f"compilation failed: {detail}") from None
    called = {f for f in program.functions() if f[0] not in "_@!"}
    unknown = sorted(called - KNOWN_FUNCTIONS)
    if unknown:
        detail = f"compilation failed: ERROR: <input>: undeclared reference to '{unknown[0]}'"
        raise CelCompileError(path, source, detail)
    bound = set(_MACRO_VAR.findall(source)) | {"self", "oldSelf", "optional"}
    strangers = sorted(set(program.variables()) - bound)
    if strangers:
        detail = f"compilation failed: ERROR: <input>: undeclared reference to '{strangers[0]}'"
        raise CelCompileError(path, source, detail)
    return program


_STRING_LITERAL = re.compile(
    r"""[rR]?(\'\'\'.*?\'\'\'|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""", re.S
)
_SELECTION = re.compile(r"(?<![\w.])(self|oldSelf)((?:\s*\.\s*[A-Za-z_]\w*)+)(\s*\()?")


def check_fields(source: str, schema: Schema, is_root: bool, path: str) -> None:
    """The part of the apiserver's type check that catches typos: `self.x` must name a declared property.

    Only selections on objects with declared properties (and without x-kubernetes-preserve-unknown-fields) are
    checked; maps, dynamic values and everything after a function call are left alone.
    """
    code = _STRING_LITERAL.sub('""', source)
    for match in _SELECTION.finditer(code):
        segments = [seg.strip() for seg in match.group(2).split(".")[1:]]
        if match.group(3):
            segments = segments[:-1]  # the last one is a method call
        current: Schema | None = schema
        for depth, seg in enumerate(segments):
            if current is None:
                break
            if depth == 0 and is_root and seg in ("apiVersion", "kind", "metadata"):
                break
            props: dict[str, Schema] = current.get("properties") or {}
            by_cel_name = {escape_property(k): v for k, v in props.items()}
            if seg in by_cel_name:
                current = by_cel_name[seg]
            elif props and not current.get("x-kubernetes-preserve-unknown-fields"):
                raise CelCompileError(
                    path, source, f"compilation failed: ERROR: <input>: undefined field '{seg}'"
                )
            else:
                additional = current.get("additionalProperties")
                current = additional if isinstance(additional, dict) else None


@dataclass
class Rule:
    rule: str
    program: Any
    transition: bool
    message: str | None
    message_program: Any | None
    reason: str | None
    field_path: tuple[str, ...]
    optional_old_self: bool


@dataclass
class Node:
    """Compiled rules of one schema node, and whether any rule lives below it (to skip rule-free subtrees)."""

    rules: list[Rule] = field(default_factory=list)
    has_rules_below: bool = False


_FIELD_PATH = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]")


def _parse_field_path(text: str, path: str) -> tuple[str, ...]:
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        match = _FIELD_PATH.match(text, pos)
        if not match:
            raise CelCompileError(path, text, "fieldPath must be a valid path")
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return tuple(parts)


def _check_field_path(parts: tuple[str, ...], schema: Schema, text: str, path: str) -> None:
    current: Schema = schema
    for part in parts:
        props: dict[str, Schema] = current.get("properties") or {}
        additional = current.get("additionalProperties")
        if part in props:
            current = props[part]
        elif isinstance(additional, dict):
            current = additional
        elif current.get("x-kubernetes-preserve-unknown-fields") or additional is True:
            return
        else:
            raise CelCompileError(
                path, text, f"fieldPath must be a valid path: {part} does not exist in the schema"
            )


class CelValidator:
    """Compiles every rule of a schema once; validate() runs them on an object (and its old copy)."""

    def __init__(self, schema: Schema, schema_path: str = "openAPIV3Schema") -> None:
        self.schema = schema
        self._ratchet = True
        self._nodes: dict[int, Node] = {}
        self._walk(schema, schema_path)

    @property
    def rule_count(self) -> int:
        return sum(len(n.rules) for n in self._nodes.values())

    def _walk(self, schema: Schema, path: str, uncorrelatable: str | None = None) -> bool:
        """Compiles the rules at and below schema; uncorrelatable: the list whose items have no old value."""
        node = Node()
        for i, spec in enumerate(schema.get("x-kubernetes-validations") or []):
            rule_path = f"{path}.x-kubernetes-validations[{i}]"
            rule = self._compile_rule(spec, rule_path, schema, schema is self.schema)
            if rule.transition and uncorrelatable is not None:
                detail = "oldSelf cannot be used on the uncorrelatable portion of the schema within "
                detail += uncorrelatable
                raise CelCompileError(f"{rule_path}.rule", rule.rule, detail, forbidden=True)
            node.rules.append(rule)
        below = False
        for key, prop in (schema.get("properties") or {}).items():
            below = self._walk(prop, f"{path}.properties[{key}]", uncorrelatable) or below
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            below = self._walk(additional, f"{path}.additionalProperties", uncorrelatable) or below
        items = schema.get("items")
        if isinstance(items, dict):
            if uncorrelatable is None and schema.get("x-kubernetes-list-type") != "map":
                uncorrelatable = path
            below = self._walk(items, f"{path}.items", uncorrelatable) or below
        node.has_rules_below = below
        self._nodes[id(schema)] = node
        return below or bool(node.rules)

    def _compile_rule(self, spec: dict[str, Any], path: str, schema: Schema, is_root: bool) -> Rule:
        source = spec.get("rule")
        if not isinstance(source, str) or not source.strip():
            raise CelCompileError(f"{path}.rule", str(source), "rule is not specified")
        program = _compile(source, f"{path}.rule")
        check_fields(source, schema, is_root, f"{path}.rule")
        message_program = None
        if spec.get("messageExpression"):
            message_program = _compile(spec["messageExpression"], f"{path}.messageExpression")
            check_fields(spec["messageExpression"], schema, is_root, f"{path}.messageExpression")
        field_path: tuple[str, ...] = ()
        if spec.get("fieldPath"):
            field_path = _parse_field_path(spec["fieldPath"], f"{path}.fieldPath")
            _check_field_path(field_path, schema, spec["fieldPath"], f"{path}.fieldPath")
        message = spec.get("message")
        if isinstance(message, str) and "\n" in message:
            raise CelCompileError(f"{path}.message", message, "message must not contain line breaks")
        reason = spec.get("reason")
        if reason is not None and reason not in (
            "FieldValueInvalid",
            "FieldValueForbidden",
            "FieldValueRequired",
            "FieldValueDuplicate",
        ):
            raise CelCompileError(f"{path}.reason", str(reason), "unsupported reason")
        transition = "oldSelf" in program.variables()
        return Rule(
            rule=source,
            program=program,
            transition=transition,
            message=message,
            message_program=message_program,
            reason=reason,
            field_path=field_path,
            optional_old_self=bool(spec.get("optionalOldSelf")),
        )

    # ------------------------------------------------------------ evaluation

    def validate(
        self, obj: Any, old: Any = None, *, has_old: bool = False, ratchet: bool = True
    ) -> list[FieldError]:
        """Field errors of every failing rule; with ratchet, rules without oldSelf skip unchanged values."""
        errors: list[FieldError] = []
        self._ratchet = ratchet
        self._validate(obj, old, has_old, self.schema, (), errors)
        return errors

    def _validate(
        self, value: Any, old: Any, has_old: bool, schema: Schema, path: Path, errors: list[FieldError]
    ) -> None:
        if value is None:
            return
        node = self._nodes.get(id(schema))
        if node is None:
            return
        if node.rules:
            self._run_rules(node.rules, value, old, has_old and old is not None, schema, path, errors)
        if not node.has_rules_below:
            return
        if isinstance(value, dict):
            props: dict[str, Schema] = schema.get("properties") or {}
            additional = schema.get("additionalProperties")
            old_map = old if has_old and isinstance(old, dict) else {}
            for key, child in value.items():
                seg: PathSeg
                if key in props:
                    sub, seg = props[key], ("field", key)
                elif isinstance(additional, dict):
                    sub, seg = additional, ("key", key)
                else:
                    continue
                self._validate(child, old_map.get(key), key in old_map, sub, (*path, seg), errors)
        elif isinstance(value, list):
            items = schema.get("items")
            if not isinstance(items, dict):
                return
            old_items = correlate_items(value, (old,) if has_old else None, schema)
            for i, (item, old_item) in enumerate(zip(value, old_items, strict=True)):
                self._validate(
                    item,
                    old_item[0] if old_item else None,
                    old_item is not None,
                    items,
                    (*path, ("index", i)),
                    errors,
                )

    def _run_rules(
        self,
        rules: list[Rule],
        value: Any,
        old: Any,
        has_old: bool,
        schema: Schema,
        path: Path,
        errors: list[FieldError],
    ) -> None:
        cel_self = to_cel(value, schema)
        cel_old: Any = to_cel(old, schema) if has_old else None
        context = cel_engine.Context(variables={"self": cel_self}, functions=FUNCTIONS)
        # ratcheting: rules without oldSelf are not re-checked on a value the update leaves as it was
        same = self._ratchet and has_old and type(value) is type(old) and value == old
        for rule in rules:
            if same and not rule.transition:
                continue
            if rule.transition:
                if rule.optional_old_self:
                    optional = cel_engine.OptionalValue
                    context.add_variable("oldSelf", optional.of(cel_old) if has_old else optional.none())
                elif not has_old:
                    continue
                else:
                    context.add_variable("oldSelf", cel_old)
            try:
                result = rule.program.execute(context)
            except Exception as exc:  # the engine raises builtin exception types for evaluation errors
                detail = f"{describe_eval_error(exc)} evaluating rule: {rule.rule}"
                errors.append(field_error(path, "FieldValueInvalid", schema_type(schema), detail))
                continue
            if result is True:
                continue
            if result is not False:
                detail = f"rule did not evaluate to a bool: {rule.rule}"
                errors.append(field_error(path, "FieldValueInvalid", schema_type(schema), detail))
                continue
            errors.append(self._failure(rule, context, schema, path))

    def _failure(self, rule: Rule, context: Any, schema: Schema, path: Path) -> FieldError:
        message = rule.message or f"failed rule: {rule.rule}"
        if rule.message_program is not None:
            try:
                produced = rule.message_program.execute(context)
            except Exception:  # a failing messageExpression falls back to the static message
                produced = None
            if isinstance(produced, str) and produced.strip() and "\n" not in produced:
                message = str(produced)
        target_path, target_schema = path, schema
        for part in rule.field_path:
            props = target_schema.get("properties") or {}
            if part in props:
                target_path, target_schema = (*target_path, ("field", part)), props[part]
            else:
                additional = target_schema.get("additionalProperties")
                target_path = (*target_path, ("key", part))
                target_schema = additional if isinstance(additional, dict) else {}
        shown = schema_type(target_schema)
        reason = rule.reason or "FieldValueInvalid"
        if reason == "FieldValueForbidden":
            return field_error(target_path, reason, detail=message)
        if reason == "FieldValueRequired":
            return field_error(target_path, reason, detail=message)
        if reason == "FieldValueDuplicate":
            return field_error(target_path, reason, shown)
        return field_error(target_path, "FieldValueInvalid", shown, message)


def schema_type(schema: Schema) -> str:
    return str(schema.get("type") or "")


_FUNCTION_FAILURE = re.compile(r"Python function call failed: \w+: (.*?)\. Check function arguments")
_UNDEFINED = re.compile(r"Undefined variable or function: '([^']*)'")


def describe_eval_error(exc: Exception) -> str:
    """The engine's error as cel-go words it (what kube-apiserver prints)."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, KeyError):
        return f"no such key: {text}"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, TypeError) and text.startswith("No such overload"):
        return "no such overload"
    failed = _FUNCTION_FAILURE.search(text)
    if failed:
        return failed.group(1)
    undefined = _UNDEFINED.search(text)
    if undefined:
        return f"undeclared reference to '{undefined.group(1)}'"
    return text


# ---------------------------------------------------------------- values

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> datetime.timedelta | None:
    """Go's time.ParseDuration (a `format: duration` string becomes a CEL duration); None if it fails."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return datetime.timedelta(0)
    pos, seconds = 0, 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if not match:
            return None
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not body:
        return None
    return datetime.timedelta(seconds=-seconds if text.startswith("-") else seconds)


def _timestamp(text: str, date_only: bool) -> datetime.datetime | None:
    try:
        if date_only:
            return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
        parsed = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def to_cel(value: Any, schema: Schema | None) -> Any:
    """A decoded JSON value as Kubernetes binds it in CEL: typed by the schema node it sits at.

    Object properties get their escaped CEL names, `number` fields are doubles, strings with format date-time/
    date, duration and byte are timestamps, durations and bytes.
    """
    if value is None:
        return None
    schema = schema or {}
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, child in value.items():
            if key in props:
                name = escape_property(key)
                if name is not None:
                    out[name] = to_cel(child, props[key])
            elif isinstance(additional, dict):
                out[key] = to_cel(child, additional)
            else:
                out[key] = to_cel(child, None)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [to_cel(v, items if isinstance(items, dict) else None) for v in value]
    if isinstance(value, bool):
        return value
    kind = schema.get("type")
    if isinstance(value, int | float):
        if kind == "number":
            return float(value)
        if isinstance(value, float) and value.is_integer() and kind == "integer":
            return int(value)
        return value
    if isinstance(value, str) and kind == "string":
        fmt = schema.get("format")
        converted: Any = None
        if fmt in ("date-time", "datetime", "date"):
            converted = _timestamp(value, fmt == "date")
        elif fmt == "duration":
            converted = parse_duration(value)
        elif fmt == "byte":
            try:
                converted = base64.b64decode(value, validate=True)
            except ValueError:
                converted = None
        return value if converted is None else converted
    return value
