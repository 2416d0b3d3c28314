"""The Kubernetes CEL libraries that CRD rules commonly use, for the `cel` package (a Rust CEL engine).

The engine implements the CEL core: size, contains, startsWith, endsWith, matches, the macros (has, all,
exists, exists_one, map, filter), conversions, timestamps, durations and optionals (optional.of/none,
hasValue, value, orValue). Kubernetes adds the strings, lists, regex, URL and quantity libraries; they are
Python functions here, called receiver first (`x.f(y)` is `f(x, y)`). They raise ValueError for bad input,
which the caller reports as an evaluation error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs, urlsplit

_URL_KEY = "__url__"


def _index_error(i: int) -> ValueError:
    return ValueError(f"index out of range: {i}")


def char_at(s: str, i: int) -> str:
    if i < 0 or i > len(s):
        raise _index_error(i)
    return s[i] if i < len(s) else ""


def index_of(target: Any, sub: Any, start: int = 0) -> int:
    if isinstance(target, list):
        for i, item in enumerate(target):
            if item == sub and type(item) is type(sub):
                return i
        return -1
    if start < 0 or start > len(target):
        raise _index_error(start)
    return int(target.find(sub, start))


def last_index_of(target: Any, sub: Any, end: int | None = None) -> int:
    if isinstance(target, list):
        for i in range(len(target) - 1, -1, -1):
            if target[i] == sub and type(target[i]) is type(sub):
                return i
        return -1
    if end is None:
        return int(target.rfind(sub))
    if end < 0 or end >= len(target):
        raise _index_error(end)
    return int(target.rfind(sub, 0, end + len(sub)))


def lower_ascii(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def upper_ascii(s: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in s)


def replace(s: str, old: str, new: str, n: int = -1) -> str:
    return s.replace(old, new, n)


def split(s: str, sep: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    if sep == "":
        parts = list(s)
        if n > 0 and len(parts) > n:
            parts = [*parts[: n - 1], "".join(parts[n - 1 :])]
        return parts
    return s.split(sep, n - 1 if n > 0 else -1)


def substring(s: str, start: int, end: int | None = None) -> str:
    stop = len(s) if end is None else end
    if start < 0 or start > len(s):
        raise _index_error(start)
    if stop < start or stop > len(s):
        raise _index_error(stop)
    return s[start:stop]


def trim(s: str) -> str:
    return s.strip()


def join(items: list[Any], sep: str = "") -> str:
    if not all(isinstance(i, str) for i in items):
        raise ValueError("join: list must contain only strings")
    return sep.join(items)


def reverse(s: Any) -> Any:
    return s[::-1]


def is_sorted(items: list[Any]) -> bool:
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def list_sum(items: list[Any]) -> Any:
    if not items:
        return 0
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def list_min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min(list) argument must not be empty")
    return min(items)


def list_max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max(list) argument must not be empty")
    return max(items)


def find(s: str, pattern: str) -> str:
    match = re.search(pattern, s)
    return match.group(0) if match else ""


def find_all(s: str, pattern: str, n: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, s)]
    return found[:n] if n >= 0 else found


def _url_ok(text: str) -> bool:
    # Go's url.ParseRequestURI: an absolute URI or an absolute path
    if not text or any(c.isspace() for c in text):
        return False
    return text.startswith("/") or bool(urlsplit(text).scheme)


def is_url(text: str) -> bool:
    return _url_ok(text)


def url(text: str) -> dict[str, str]:
    if not _url_ok(text):
        raise ValueError(f"URL parse error during conversion from string: parse {text!r}: invalid URI")
    return {_URL_KEY: text}


def _parts(u: Any) -> Any:
    if not isinstance(u, dict) or _URL_KEY not in u:
        raise ValueError("no such overload: expected a URL")
    return urlsplit(u[_URL_KEY])


def get_scheme(u: Any) -> str:
    return str(_parts(u).scheme)


def get_host(u: Any) -> str:
    return str(_parts(u).netloc.rsplit("@", 1)[-1])


def get_hostname(u: Any) -> str:
    return str(_parts(u).hostname or "")


def get_port(u: Any) -> str:
    host = _parts(u).netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        rest = host.partition("]")[2]
        return rest[1:] if rest.startswith(":") else ""
    return host.rpartition(":")[2] if ":" in host else ""


def get_escaped_path(u: Any) -> str:
    return str(_parts(u).path)


def get_query(u: Any) -> dict[str, list[str]]:
    return {k: list(v) for k, v in parse_qs(_parts(u).query, keep_blank_values=True).items()}


_QUANTITY_KEY = "__quantity__"
_QUANTITY = re.compile(
    r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)
_SUFFIXES = {
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000), "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9),
    "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
}  # fmt: skip


def _parse_quantity(text: str) -> Fraction | None:
    match = _QUANTITY.match(text)
    if not match:
        return None
    sign, number, exponent, suffix = match.groups()
    value = Fraction(number)
    if exponent:
        value *= Fraction(10) ** int(exponent[1:])
    elif suffix:
        value *= _SUFFIXES[suffix]
    return -value if sign == "-" else value


def _q(value: Fraction) -> dict[str, str]:
    # a map whose only entry is the canonical value, so that == compares quantities by value
    return {_QUANTITY_KEY: f"{value.numerator}/{value.denominator}"}


def _qv(q: Any) -> Fraction:
    if isinstance(q, dict) and _QUANTITY_KEY in q:
        return Fraction(q[_QUANTITY_KEY])
    if isinstance(q, int) and not isinstance(q, bool):
        return Fraction(q)
    raise ValueError("no such overload: expected a quantity")


def is_quantity(text: str) -> bool:
    return _parse_quantity(text) is not None


def quantity(text: str) -> dict[str, str]:
    value = _parse_quantity(text)
    if value is None:
        raise ValueError(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    return _q(value)


def q_is_integer(q: Any) -> bool:
    return _qv(q).denominator == 1


def q_as_integer(q: Any) -> int:
    value = _qv(q)
    if value.denominator != 1 or not -(2**63) <= value.numerator < 2**63:
        raise ValueError("cannot convert value to integer")
    return value.numerator


def q_as_approximate_float(q: Any) -> float:
    return float(_qv(q))


def q_sign(q: Any) -> int:
    value = _qv(q)
    return (value > 0) - (value < 0)


def q_add(q: Any, other: Any) -> dict[str, str]:
    return _q(_qv(q) + _qv(other))


def q_sub(q: Any, other: Any) -> dict[str, str]:
    return _q(_qv(q) - _qv(other))


def q_is_less_than(q: Any, other: Any) -> bool:
    return _qv(q) < _qv(other)


def q_is_greater_than(q: Any, other: Any) -> bool:
    return _qv(q) > _qv(other)


def q_compare_to(q: Any, other: Any) -> int:
    a, b = _qv(q), _qv(other)
    return (a > b) - (a < b)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "isQuantity": is_quantity,
    "quantity": quantity,
    "isInteger": q_is_integer,
    "asInteger": q_as_integer,
    "asApproximateFloat": q_as_approximate_float,
    "sign": q_sign,
    "add": q_add,
    "sub": q_sub,
    "isLessThan": q_is_less_than,
    "isGreaterThan": q_is_greater_than,
    "compareTo": q_compare_to,
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
}

# What the engine itself provides (as the names Program.functions() reports).
NATIVE_FUNCTIONS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string", "bytes",
        "timestamp", "duration", "type", "dyn", "getFullYear", "getMonth", "getDayOfMonth", "getDayOfYear",
        "getDayOfWeek", "getDate", "getHours", "getMinutes", "getSeconds", "getMilliseconds", "of", "none",
        "ofNonZeroValue", "hasValue", "value", "orValue", "or",
    }
)  # fmt: skip

KNOWN_FUNCTIONS = NATIVE_FUNCTIONS | frozenset(FUNCTIONS)
