"""How many SMS segments a body costs, per GSM 03.38 (3GPP TS 23.038) and the concatenation
rules carriers and Twilio apply.

A body is sent as GSM-7 when every character is in the GSM default alphabet or its
extension table, otherwise as UCS-2 (UTF-16 on the wire):

- GSM-7: one segment holds 160 septets; a concatenated message holds 153 per segment (the
  user data header takes the rest). Extension-table characters (``^ { } \\ [ ~ ] | €`` and
  form feed) are an escape plus the character: two septets, and the pair is never split
  across two segments, so a segment can end one septet short.
- UCS-2: one segment holds 70 UTF-16 code units; concatenated, 67 per segment. Characters
  outside the Basic Multilingual Plane (most emoji) are a surrogate pair: two code units,
  never split across segments.

Used by the template editor (live counter), the SMS provider and the test stand-in.
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet, in code-point order 0x00-0x7F (0x1B, the escape to the
# extension table, is not a character of its own and is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Reached through the escape: each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(body: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body)


def _units(body: str, encoding: Encoding) -> list[int]:
    """The cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in body]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in body]


def _pack(units: list[int], capacity: int) -> int:
    """Segments needed when no character may straddle two segments."""
    segments, used = 1, 0
    for cost in units:
        if used + cost > capacity:
            segments += 1
            used = 0
        used += cost
    return segments


def gsm7_segments(body: str) -> tuple[Encoding, int]:
    """("GSM-7" | "UCS-2", segments) for `body`. An empty body is ("GSM-7", 0)."""
    encoding: Encoding = "GSM-7" if is_gsm7(body) else "UCS-2"
    if not body:
        return encoding, 0
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    units = _units(body, encoding)
    if sum(units) <= single:
        return encoding, 1
    return encoding, _pack(units, multi)


def sms_length(body: str) -> int:
    """Length in the body's own units: septets for GSM-7, UTF-16 code units for UCS-2."""
    encoding, _segments = gsm7_segments(body)
    return sum(_units(body, encoding))
