"""Short texts partners write (names, descriptions, metadata keys): one rule for the characters they hold.

They reach email headers, log lines, CSV cells, the console and partners' own dashboards, where a newline or
a bidirectional override changes what the text means ("Org B\\nBcc: attacker@evil.example" in an email
subject). So such a text refuses, anywhere in it (leading and trailing whitespace included, before any
trimming):
- control characters (Unicode category Cc): NUL, tab, newline, carriage return, DEL, the C1 controls;
- line and paragraph separators (Zl, Zp: U+2028, U+2029), which are newlines to JavaScript;
- format characters (Cf) of the Basic Multilingual Plane: bidirectional overrides and isolates
  (U+202A-U+202E, U+2066-U+2069), zero-width space, soft hyphen, byte-order mark, ... — except the
  zero-width non-joiner and joiner (U+200C, U+200D), which Persian and Indic writing and emoji sequences
  need. Format characters beyond the BMP (e.g. the tag characters of subdivision flag emoji) are allowed.
Free text inside metadata values is not a short text and keeps its newlines.
"""

import re
import unicodedata

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})  # Cf: in the BMP, less the two kept below
_KEPT_FORMAT_CHARACTERS = {"\u200c", "\u200d"}


def _refused_class() -> str:
    """The refused characters as a regex class body of \\u escapes (Python and ECMAScript read it)."""
    refused = [
        code
        for code, category in ((code, unicodedata.category(chr(code))) for code in range(0x10000))
        if category in _REFUSED_CATEGORIES and chr(code) not in _KEPT_FORMAT_CHARACTERS
    ]
    ranges, start = [], refused[0]
    for previous, code in zip(refused, [*refused[1:], None], strict=True):
        if code != previous + 1:
            ranges.append(f"\\u{start:04x}" + (f"-\\u{previous:04x}" if previous != start else ""))
            start = code
    return "".join(ranges)


REFUSED_CHARACTERS = _refused_class()
_REFUSED = re.compile(f"[{REFUSED_CHARACTERS}]")

# Python's whitespace (what DRF trims), spelled out for the ECMAScript regexes of OpenAPI tools.
_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The documented rules, as OpenAPI `pattern`s: no refused character; a name also has one that is not space.
TEXT_PATTERN = f"^[^{REFUSED_CHARACTERS}]*$"
NAME_PATTERN = f"^[^{REFUSED_CHARACTERS}]*[^{REFUSED_CHARACTERS}{_WHITESPACE}][^{REFUSED_CHARACTERS}]*$"
TEXT_RULE = "No control, line-separator or format characters (newline, tab, bidirectional overrides, …)."


def refused_character(value: str) -> str | None:
    """The first character of `value` a short text may not hold, or None."""
    match = _REFUSED.search(value)
    return match.group() if match else None


def refuse_control_characters(value) -> None:
    """Raise a field error if `value` (a str) holds a character a short text may not hold."""
    if isinstance(value, str):
        character = refused_character(value)
        if character is not None:
            raise serializers.ValidationError(
                f"Must not contain control or format characters (found U+{ord(character):04X})."
            )


def display_text(value: str) -> str:
    """`value` with every refused character replaced by a space: for texts stored before the rule."""
    return _REFUSED.sub(" ", value)


@extend_schema_field({"type": "string", "pattern": TEXT_PATTERN, "description": TEXT_RULE})
class PlainTextField(serializers.CharField):
    """A partner's short text: refuses the characters above in the text as sent, before it is trimmed."""

    def run_validation(self, data=serializers.empty):
        refuse_control_characters(data)
        return super().run_validation(data)


@extend_schema_field({"type": "string", "minLength": 1, "pattern": NAME_PATTERN, "description": TEXT_RULE})
class NameField(PlainTextField):
    """A name: a short text that is not blank once trimmed."""
