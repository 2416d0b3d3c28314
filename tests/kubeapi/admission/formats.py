"""The string formats a CRD schema may name, checked as the apiserver's strfmt registry checks them.

Formats the apiserver does not know (and the numeric ones: int32, int64, float, double) are ignored.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_UUID3 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_UUID5 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
# strfmt's ParseDateTime layouts: RFC 3339 (any fraction), and ISO 8601 local time or reduced precision
_DATE_TIME = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?"
    r"([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)?$"
)
_HOSTNAME_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$")
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGBCOLOR = re.compile(r"^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$")
_BSON = re.compile(r"^[0-9a-fA-F]{24}$")
_DURATION = re.compile(
    r"^(-?(\d+(\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s|m|h|d|w|"
    r"sec|secs|second|seconds|min|mins|minute|minutes|hr|hrs|hour|hours|day|days|wk|wks|week|weeks)\s*)+$"
)


def _hostname(value: str) -> bool:
    if not value or len(value) > 255:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return all(_HOSTNAME_LABEL.match(label) for label in labels)


def _ip(version: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False

    return check


def _cidr(value: str) -> bool:
    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _uri(value: str) -> bool:
    # Go's url.ParseRequestURI: an absolute URI or an absolute path, no fragment-only or relative refs.
    if not value or any(c.isspace() for c in value):
        return False
    if value.startswith("/"):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme) is not None


def _byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _isbn10(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{9}[\dXx]", digits):
        return False
    total = sum((10 - i) * (10 if c in "Xx" else int(c)) for i, c in enumerate(digits))
    return total % 11 == 0


def _isbn13(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{13}", digits):
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits))
    return total % 10 == 0


def _regex(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.match(value) is not None


CHECKERS: dict[str, Callable[[str], bool]] = {
    "uuid": _regex(_UUID),
    "uuid3": _regex(_UUID3),
    "uuid4": _regex(_UUID4),
    "uuid5": _regex(_UUID5),
    "date": _regex(_DATE),
    "date-time": _regex(_DATE_TIME),
    "datetime": _regex(_DATE_TIME),
    "duration": _regex(_DURATION),
    "hostname": _hostname,
    "ipv4": _ip(4),
    "ipv6": _ip(6),
    "cidr": _cidr,
    "uri": _uri,
    "email": _regex(_EMAIL),
    "mac": _regex(_MAC),
    "byte": _byte,
    "isbn": lambda v: _isbn10(v) or _isbn13(v),
    "isbn10": _isbn10,
    "isbn13": _isbn13,
    "hexcolor": _regex(_HEXCOLOR),
    "rgbcolor": _regex(_RGBCOLOR),
    "bsonobjectid": _regex(_BSON),
    "ssn": _regex(re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")),
    "creditcard": _regex(re.compile(r"^(\d[ -]?){12,18}\d$")),
    "password": lambda v: True,
}


def check_format(fmt: str, value: str) -> bool:
    """True when value is valid for fmt, or when fmt is one the apiserver ignores."""
    checker = CHECKERS.get(fmt)
    return checker is None or checker(value)
