"""Redaction and escaping: whatever the tool prints passes through here, so no secret ever
leaves and no name read from a pack (or typed by an operator) can move the cursor, clear the
screen, start a new line or forge one: such characters are shown as escapes (``\x1b``)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

# Environment variables whose values are credentials, whatever their length.
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
              "AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN")
# An AWS access key id. No boundary: a key id inside a name (`run2AKIA…`, `part_AKIA…`) is
# still one; masking a longer run of capitals that starts the same way is the safe mistake.
AWS_KEY_ID = re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}")
_PATTERNS = (
    re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s\"']+"),
    re.compile(r"(?i)(Signature|AWSAccessKeyId)=[^&\s\"']+"),
    AWS_KEY_ID,
)
# Lower-case literals one of which every match of the pattern of the same place contains.
_PATTERN_MARKS = (("x-amz-",), ("signature=", "awsaccesskeyid="), ("akia", "asia"))
MASK = "***"
# user:password@ (or a bare token@) in the authority part of any URL.
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@]*@")


def has_url_credentials(value: str) -> bool:
    """Whether a URL carries credentials in its authority (never accepted, never printed)."""
    return bool(URL_USERINFO.search(value))


def _secret_values() -> list[str]:
    values = []
    for name, value in os.environ.items():
        upper = name.upper()
        if (name in SECRET_ENV or any(w in upper for w in ("SECRET", "TOKEN", "PASSWORD"))) \
                and len(value) >= 4:
            values.append(value)
    return sorted(values, key=len, reverse=True)


class RedactingStream:
    """A text stream that masks secrets in everything written through it (for Rich)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


M = TypeVar("M", bound=BaseModel)


def redact_model(model: M) -> M:
    """A copy of a pydantic model with every secret masked (for display)."""
    secrets = _secret_values()  # once per model: a report can hold 200,000 strings
    if _untouched(model, secrets, escaping=False):
        return model.model_copy(deep=False)
    return _shown_copy(model, lambda t: _masked(t, secrets))


# Characters JSON writes as escapes: a secret holding one is not found verbatim in JSON text.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
# A control character in JSON text (U+0000 to U+001F are always written escaped).
_JSON_CONTROL = re.compile(r"\\(?:[nrtbf]|u00[01])")


def _untouched(model: BaseModel, secrets: list[str], escaping: bool) -> bool:
    """Whether masking (and, with ``escaping``, escaping) would change no string in
    ``model``, decided by one scan of its JSON text instead of a call per string. Every
    test errs towards "may change" (then each string is mapped): a secret, a pattern's
    literal, a URL with userinfo or an unprintable character anywhere in the text, even
    across two strings or in a field name, sends the model the slow way."""
    if any(_JSON_ESCAPED.search(value) for value in secrets):
        return False
    try:
        text = model.model_dump_json(by_alias=True)
    except ValueError:  # a lone surrogate has no JSON text
        return False
    if any(value in text for value in secrets):
        return False
    low = text.lower()
    if any(mark in low for marks in _PATTERN_MARKS for mark in marks):
        return False
    if "@" in text and URL_USERINFO.search(text):
        return False
    return not escaping or not (_UNPRINTABLE.search(text) or _JSON_CONTROL.search(text))


def _memo(fn: Callable[[str], str]) -> Callable[[str], str]:
    """``fn`` computed once per distinct string (field names, codes and details repeat in
    every finding of a report)."""
    seen: dict[str, str] = {}

    def once(text: str) -> str:
        done = seen.get(text)
        if done is None:
            done = seen[text] = fn(text)
        return done

    return once


def redact(text: str) -> str:
    return _masked(text, _secret_values())


def _masked(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    low = text.lower()
    # Each pattern only where its literal part occurs: most strings (paths, codes) hold none,
    # and a report can hold 200,000 of them.
    for rx, marks in zip(_PATTERNS, _PATTERN_MARKS, strict=True):
        if any(m in low for m in marks):
            text = rx.sub(lambda m: (m.group(1) + "=" + MASK) if m.groups() else MASK, text)
    if "@" not in text:
        return text
    return URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


# What a terminal acts on instead of showing, or shows as nothing: C0 and C1 controls (ESC,
# CSI U+009B, NEL U+0085, line feeds), DEL, the Unicode line and paragraph separators, every
# invisible format character (Unicode category Cf: bidirectional overrides that reorder what
# is shown, zero-width spaces and joiners, U+FEFF, soft hyphens, tag characters), and lone
# surrogates (no text at all). The Cf ranges are Unicode 15's; a test holds them to the
# running Python's own table.
_FORMAT_CHARS = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
                 "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
                 "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
                 "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
# Characters that draw nothing although they are no format character (default-ignorable
# fillers and joiners, variation selectors, the blank braille pattern): a value made of them
# looks empty, or like another value, wherever it is shown.
_BLANK_CHARS = ("\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
                "\uffa0\U000e0100-\U000e01ef")
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_FORMAT_CHARS}{_BLANK_CHARS}"
                          "\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape."""
    return _UNPRINTABLE.sub(_escape, text)


def unprintable_in(text: str) -> list[str]:
    """The characters ``printable`` would escape, as U+XXXX (for refusing operator input)."""
    return sorted({f"U+{ord(ch):04X}" for ch in _UNPRINTABLE.findall(text)})


def _map_strings(value: Any, fn: Any) -> Any:
    """``value`` with ``fn`` applied to every string in it (keys included). Walks Python
    values, not JSON text: a lone surrogate is a string here, not an encoding error. Plain
    strings are mapped in place of a call (a report can hold 400,000 of them)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {(fn(k) if type(k) is str else _map_strings(k, fn)):
                (fn(v) if type(v) is str else _map_strings(v, fn)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [fn(v) if type(v) is str else _map_strings(v, fn) for v in value]
    return value


def display_model(model: M) -> M:
    """A copy of a model for a human: secrets masked, unprintable characters escaped (the
    JSON report keeps the exact strings; JSON escapes them itself)."""
    secrets = _secret_values()  # once per model, not once per string
    if _untouched(model, secrets, escaping=True):
        return model.model_copy(deep=False)
    return _shown_copy(model, lambda t: printable(_masked(t, secrets)))


def _shown_copy(model: M, fn: Callable[[str], str]) -> M:
    """``model`` with ``fn`` applied to every string; when no string changes (the usual
    case) a plain copy, without validating a 200,000-finding report again."""
    changed = False

    def tracking(text: str) -> str:
        nonlocal changed
        shown = fn(text)
        if shown != text:
            changed = True
        return shown

    dumped = _map_strings(model.model_dump(by_alias=True), _memo(tracking))
    if not changed:
        return model.model_copy(deep=False)
    return type(model).model_validate(dumped)
