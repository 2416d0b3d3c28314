"""The Kubernetes CEL extension libraries that CRD rules commonly use, for cel-python.

cel-python ships the CEL standard library (size, contains, startsWith, endsWith, matches, the macros has/all/
exists/exists_one/map/filter, timestamps and durations). Kubernetes adds the strings, lists, regex and URL
libraries; their functions are registered here as cel-python calls them (receiver first).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from celpy import celtypes
from celpy.evaluation import CELEvalError


class CelOptional:
    """An optional value: what oldSelf is bound to for rules with optionalOldSelf."""

    def __init__(self, value: Any = None, present: bool = False) -> None:
        self.value = value
        self.present = present

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CelOptional) and (self.present, self.value) == (other.present, other.value)

    def __hash__(self) -> int:
        return hash(self.present)


class CelURL:
    """The value url(string) returns."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts = urlsplit(text)


def _err(message: str) -> CELEvalError:
    return CELEvalError(message)


def _str(value: Any) -> celtypes.StringType:
    return celtypes.StringType(value)


def char_at(s: str, i: int) -> Any:
    if i < 0 or i > len(s):
        return _err(f"index out of range: {i}")
    return _str(s[i] if i < len(s) else "")


def index_of(target: Any, sub: Any, start: Any = None) -> Any:
    if isinstance(target, list):
        for i, item in enumerate(target):
            if item == sub:
                return celtypes.IntType(i)
        return celtypes.IntType(-1)
    begin = 0 if start is None else int(start)
    if begin < 0 or begin > len(target):
        return _err(f"index out of range: {begin}")
    return celtypes.IntType(target.find(sub, begin))


def last_index_of(target: Any, sub: Any, end: Any = None) -> Any:
    if isinstance(target, list):
        for i in range(len(target) - 1, -1, -1):
            if target[i] == sub:
                return celtypes.IntType(i)
        return celtypes.IntType(-1)
    if end is None:
        return celtypes.IntType(target.rfind(sub))
    stop = int(end)
    if stop < 0 or stop >= len(target):
        return _err(f"index out of range: {stop}")
    return celtypes.IntType(target.rfind(sub, 0, stop + len(sub)))


def lower_ascii(s: str) -> Any:
    return _str("".join(c.lower() if c.isascii() else c for c in s))


def upper_ascii(s: str) -> Any:
    return _str("".join(c.upper() if c.isascii() else c for c in s))


def replace(s: str, old: str, new: str, n: Any = None) -> Any:
    count = -1 if n is None else int(n)
    return _str(s.replace(old, new, count))


def split(s: str, sep: str, n: Any = None) -> Any:
    limit = -1 if n is None else int(n)
    if limit == 0:
        return celtypes.ListType([])
    if sep == "":
        parts = list(s)
        if limit > 0 and len(parts) > limit:
            parts = [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    else:
        parts = s.split(sep, limit - 1 if limit > 0 else -1)
    return celtypes.ListType([_str(p) for p in parts])


def substring(s: str, start: int, end: Any = None) -> Any:
    stop = len(s) if end is None else int(end)
    if start < 0 or stop > len(s) or start > stop:
        return _err(f"index out of range: {start if start < 0 or start > stop else stop}")
    return _str(s[int(start) : stop])


def trim(s: str) -> Any:
    return _str(s.strip())


def join(items: list[Any], sep: Any = None) -> Any:
    return _str(("" if sep is None else str(sep)).join(str(i) for i in items))


def reverse(s: str) -> Any:
    return _str(s[::-1])


def is_sorted(items: list[Any]) -> Any:
    return celtypes.BoolType(all(items[i] <= items[i + 1] for i in range(len(items) - 1)))


def list_sum(items: list[Any]) -> Any:
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def list_min(items: list[Any]) -> Any:
    return min(items) if items else _err("min(list) argument must not be empty")


def list_max(items: list[Any]) -> Any:
    return max(items) if items else _err("max(list) argument must not be empty")


def find(s: str, pattern: str) -> Any:
    match = re.search(pattern, s)
    return _str(match.group(0) if match else "")


def find_all(s: str, pattern: str, n: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(pattern, s)]
    if n is not None and int(n) >= 0:
        found = found[: int(n)]
    return celtypes.ListType([_str(f) for f in found])


def _url_ok(text: str) -> bool:
    if not text or any(c.isspace() for c in text):
        return False
    if text.startswith("/"):
        return True
    parts = urlsplit(text)
    return bool(parts.scheme)


def is_url(text: str) -> Any:
    return celtypes.BoolType(_url_ok(text))


def url(text: str) -> Any:
    if not _url_ok(text):
        return _err(f"URL parse error during conversion from string: parse {text!r}: invalid URI")
    return CelURL(text)


def get_scheme(u: CelURL) -> Any:
    return _str(u.parts.scheme)


def get_host(u: CelURL) -> Any:
    return _str(u.parts.netloc.rsplit("@", 1)[-1])


def get_hostname(u: CelURL) -> Any:
    return _str(u.parts.hostname or "")


def get_port(u: CelURL) -> Any:
    host = u.parts.netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        _, _, rest = host.partition("]")
        return _str(rest[1:] if rest.startswith(":") else "")
    return _str(host.rpartition(":")[2] if ":" in host else "")


def get_escaped_path(u: CelURL) -> Any:
    return _str(u.parts.path)


def get_query(u: CelURL) -> Any:
    from urllib.parse import parse_qs

    parsed = parse_qs(u.parts.query, keep_blank_values=True)
    return celtypes.MapType({_str(k): celtypes.ListType([_str(v) for v in vs]) for k, vs in parsed.items()})


def has_value(opt: Any) -> Any:
    if not isinstance(opt, CelOptional):
        return _err("no such overload: hasValue")
    return celtypes.BoolType(opt.present)


def value(opt: Any) -> Any:
    if not isinstance(opt, CelOptional):
        return _err("no such overload: value")
    return opt.value if opt.present else _err("optional.none() dereference")


def or_value(opt: Any, default: Any) -> Any:
    if not isinstance(opt, CelOptional):
        return _err("no such overload: orValue")
    return opt.value if opt.present else default


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "charAt": char_at,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "replace": replace,
    "split": split,
    "substring": substring,
    "trim": trim,
    "join": join,
    "reverse": reverse,
    "isSorted": is_sorted,
    "sum": list_sum,
    "min": list_min,
    "max": list_max,
    "find": find,
    "findAll": find_all,
    "isURL": is_url,
    "url": url,
    "getScheme": get_scheme,
    "getHost": get_host,
    "getHostname": get_hostname,
    "getPort": get_port,
    "getEscapedPath": get_escaped_path,
    "getQuery": get_query,
    "hasValue": has_value,
    "value": value,
    "orValue": or_value,
}

# Everything a rule may call: ours, cel-python's built-ins and the macros.
KNOWN_FUNCTIONS = frozenset(FUNCTIONS) | {
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "type",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "duration",
    "timestamp",
    "dyn",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getMonth",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getSeconds",
}
