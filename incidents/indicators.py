"""What each type of indicator of compromise looks like (``IndicatorType``), and what is wrong
with a value that does not: ``problem(type, value)`` is ``None`` for a well-formed value, else
a sentence naming the problem (``'zzz' is not a SHA-256 hash: …``). The model's ``clean``
(services, admin) and the API serializer both ask it. Pure Python, no Django.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

HASHES = {"sha256": ("a SHA-256", 64), "sha1": ("a SHA-1", 40), "md5": ("an MD5", 32)}
_HEX = re.compile(r"[0-9a-fA-F]+")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*")
_EMAIL_LOCAL = re.compile(r"[^\s@\"(),:;<>\[\]\\]{1,64}")
# The container image reference grammar of distribution/reference (Docker, OCI).
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IMAGE = re.compile(
    rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_SINGLE_LABEL = "a domain name has at least two labels, e.g. evil.example"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _control(value: str, *, allow_tab: bool = False) -> str | None:
    for char in value:
        if char == "\t" and allow_tab:
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"it holds the control or formatting character U+{ord(char):04X}"
    return None


def _ip(value: str):
    try:
        return (
            ipaddress.ip_network(value, strict=True)
            if "/" in value
            else ipaddress.ip_address(value)
        )
    except ValueError:
        return None


def _domain_problem(value: str) -> str | None:
    """Why ``value`` is not a domain name (``None`` when it is one)."""
    name = value[:-1] if value.endswith(".") else value
    if _ip(name) is not None:
        return "it is an IP address"
    if "://" in name or "/" in name:
        return "it holds a '/' (a URL or a path?)"
    if " " in name:
        return "it holds a space"
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return "a label is empty or longer than 63 characters"
    labels = ascii_name.split(".")
    if len(labels) < 2:
        return _SINGLE_LABEL
    if len(ascii_name) > 253:
        return "it is longer than 253 characters"
    bad = next((label for label in labels if not _LABEL.fullmatch(label)), None)
    if bad is not None:
        return (
            f"the label {bad!r} may hold only letters, digits, '-' and '_', and may not "
            "begin or end with '-'"
        )
    if labels[-1].isdigit():
        return "the last label is a number"
    return None


def _address(value: str, version: int) -> str | None:
    found = _ip(value)
    if found is not None and found.version == version:
        return None
    example = "203.0.113.7 or 203.0.113.0/24" if version == 4 else "2001:db8::7 or 2001:db8::/32"
    what = f"an IPv{version} address (e.g. {example})"
    if found is not None:
        return f"{_shown(value)} is an IPv{found.version} address, not {what}"
    if _domain_problem(value) is None:
        return f"{_shown(value)} is a domain name, not {what}: record it as a domain name"
    return f"{_shown(value)} is not {what}"


def _hash(value: str, kind: str) -> str | None:
    label, length = HASHES[kind]
    if len(value) == length and _HEX.fullmatch(value):
        return None
    what = f"{_shown(value)} is not {label} hash: expected {length} hexadecimal digits (0-9, a-f)"
    if not _HEX.fullmatch(value):
        bad = next(c for c in value if c not in "0123456789abcdefABCDEF")
        return f"{what}, found {bad!r}"
    other = next((lab for k, (lab, n) in HASHES.items() if n == len(value)), None)
    hint = f" (the length of {other} hash)" if other else ""
    return f"{what}, found {len(value)}{hint}"


def _url(value: str) -> str | None:
    what = f"{_shown(value)} is not a URL: expected a scheme and a host, e.g. http://evil.example/kit.tgz"
    if any(c.isspace() for c in value):
        return f"{what} (it holds a space)"
    scheme, sep, _ = value.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return what
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number 0-65535)
    except ValueError as exc:
        return f"{what} ({exc})"
    host = parts.hostname or ""
    if not host:
        return f"{what} (it names no host)"
    if _ip(host) is None and _domain_problem(host) not in (None, _SINGLE_LABEL):
        return f"{what} (the host {host!r} is neither a domain name nor an IP address)"
    return None


def _email(value: str) -> str | None:
    what = f"{_shown(value)} is not an email address (e.g. helpdesk@evil.example)"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return what
    if not _EMAIL_LOCAL.fullmatch(local) or local.startswith(".") or local.endswith("."):
        return f"{what}: the part before '@' may not hold spaces or \"(),:;<>[]\\"
    problem = _domain_problem(domain)
    return f"{what}: after '@', {problem}" if problem else None


def _file_path(value: str) -> str | None:
    if value.startswith(("/", "~", "\\\\", "%")) or _WINDOWS_DRIVE.match(value):
        return None
    return (
        f"{_shown(value)} is not a file path: give the whole path, e.g. /tmp/.x or "
        "C:\\Windows\\Temp\\x.exe"
    )


def _image(value: str) -> str | None:
    if len(value) <= 512 and _IMAGE.fullmatch(value):
        return None
    return (
        f"{_shown(value)} is not a container image reference: expected "
        "[registry/]repository[:tag][@sha256:digest], the repository in lowercase, e.g. "
        "registry.example.gov/store/frontend:1.4"
    )


def problem(type: str, value: str) -> str | None:
    """``None`` when ``value`` is a well-formed indicator of ``type``, else what is wrong."""
    value = value or ""
    if not value.strip():
        return "An indicator needs a value."
    control = _control(value, allow_tab=type in ("process", "other"))
    if control:
        return f"{_shown(value)} is not a valid indicator: {control}."
    if type == "ipv4":
        found = _address(value, 4)
    elif type == "ipv6":
        found = _address(value, 6)
    elif type == "domain":
        reason = _domain_problem(value)
        found = f"{_shown(value)} is not a domain name: {reason}" if reason else None
    elif type == "url":
        found = _url(value)
    elif type in HASHES:
        found = _hash(value, type)
    elif type == "email":
        found = _email(value)
    elif type == "file_path":
        found = _file_path(value)
    elif type == "container_image":
        found = _image(value)
    else:  # process, user_account, other: any text without control characters
        found = None
    return f"{found}." if found else None
