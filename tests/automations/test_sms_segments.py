"""SMS segment counting per GSM 03.38: encodings, single/multi-part limits, and the rule
that an escape pair (GSM-7) or a surrogate pair (UCS-2) is never split across segments."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automations.sms_segments import GSM7_BASIC, GSM7_EXTENSION, gsm7_segments, sms_length

BASIC = sorted(GSM7_BASIC)
EXTENDED = sorted(GSM7_EXTENSION)

basic_text = st.text(alphabet=st.sampled_from(BASIC), max_size=800)
gsm_text = st.text(alphabet=st.sampled_from(BASIC + EXTENDED), max_size=800)
bmp_non_gsm = st.characters(
    min_codepoint=0x100, max_codepoint=0xFFFF, categories=["L", "M", "N", "P", "S", "Zs"]
).filter(lambda ch: ch not in GSM7_BASIC and ch not in GSM7_EXTENSION)
astral = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", ("GSM-7", 0)),
        ("a", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # 160 septets
        ("€" * 81, ("GSM-7", 2)),  # 162 septets: 76 pairs, then 5
        ("a" * 159 + "€", ("GSM-7", 2)),  # 161 septets
        ("a" * 158 + "€", ("GSM-7", 1)),  # 160 septets
        # 306 septets would fit two segments, but the € cannot straddle septets 153/154.
        ("a" * 152 + "€" + "a" * 152, ("GSM-7", 3)),
        ("a" * 151 + "€" + "a" * 153, ("GSM-7", 2)),
        ("é" * 160, ("GSM-7", 1)),  # é is in the basic set
        ("ç", ("UCS-2", 1)),  # only the capital Ç is
        ("ł" * 70, ("UCS-2", 1)),
        ("ł" * 71, ("UCS-2", 2)),
        ("ł" * 134, ("UCS-2", 2)),
        ("ł" * 135, ("UCS-2", 3)),
        ("😀" * 35, ("UCS-2", 1)),  # 70 code units
        ("😀" * 36, ("UCS-2", 2)),
        # 134 code units would fit two, but an emoji cannot straddle units 67/68.
        ("ł" * 66 + "😀" + "ł" * 66, ("UCS-2", 3)),
        ("Hello\nWorld {1}", ("GSM-7", 1)),
        ("`", ("UCS-2", 1)),  # the backtick is not GSM-7
    ],
)
def test_known_bodies(body: str, expected: tuple[str, int]) -> None:
    assert gsm7_segments(body) == expected


def test_alphabet_sizes() -> None:
    # 128 code points in the default alphabet minus the escape; nine extension characters
    # plus form feed.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@given(basic_text)
def test_basic_text_follows_160_153(body: str) -> None:
    encoding, segments = gsm7_segments(body)
    assert encoding == "GSM-7"
    n = len(body)
    expected = 0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153)
    assert segments == expected


@given(gsm_text)
def test_gsm_text_segments_hold_their_septets(body: str) -> None:
    encoding, segments = gsm7_segments(body)
    septets = sms_length(body)
    assert encoding == "GSM-7"
    assert septets == len(body) + sum(ch in GSM7_EXTENSION for ch in body)
    if septets == 0:
        assert segments == 0
    elif septets <= 160:
        assert segments == 1
    else:
        # Enough room for every septet, and at most one septet lost per boundary (a
        # pair pushed into the next segment).
        assert segments * 153 >= septets
        assert (segments - 1) * 152 < septets


@given(gsm_text, st.sampled_from(BASIC + EXTENDED))
def test_adding_a_character_never_lowers_the_count(body: str, extra: str) -> None:
    assert gsm7_segments(body + extra)[1] >= gsm7_segments(body)[1]


# Half the examples put the pair exactly on the boundary, where a naive count goes wrong.
@given(
    st.one_of(st.just(152), st.integers(min_value=0, max_value=152)),
    st.integers(min_value=0, max_value=400),
)
def test_escape_pair_at_the_boundary(before: int, after: int) -> None:
    body = "a" * before + "€" + "a" * after
    septets = before + 2 + after
    _, segments = gsm7_segments(body)
    if septets <= 160:
        assert segments == 1
    elif before == 152:  # the pair would straddle septets 153 and 154: it moves on
        assert segments == 1 + math.ceil((2 + after) / 153)
    else:
        assert segments == math.ceil(septets / 153)


@given(gsm_text, bmp_non_gsm, gsm_text)
def test_one_non_gsm_character_makes_the_whole_body_ucs2(head: str, odd: str, tail: str) -> None:
    body = head + odd + tail
    encoding, segments = gsm7_segments(body)
    assert encoding == "UCS-2"
    units = len(body)  # all in the BMP: one code unit each
    assert segments == (1 if units <= 70 else math.ceil(units / 67))


@given(st.lists(st.one_of(bmp_non_gsm, astral), min_size=1, max_size=300))
def test_ucs2_surrogate_pairs_never_split(chars: list[str]) -> None:
    body = "".join(chars)
    encoding, segments = gsm7_segments(body)
    units = len(body.encode("utf-16-le")) // 2
    assert encoding == "UCS-2"
    assert sms_length(body) == units
    if units <= 70:
        assert segments == 1
    else:
        # Greedy packing into 67-unit segments, a pair never split: a reference count.
        expected, used = 1, 0
        for ch in chars:
            cost = 2 if ord(ch) > 0xFFFF else 1
            if used + cost > 67:
                expected, used = expected + 1, 0
            used += cost
        assert segments == expected
        assert segments * 67 >= units
        assert (segments - 1) * 66 < units


@given(
    st.one_of(st.just(66), st.integers(min_value=0, max_value=66)),
    st.integers(min_value=0, max_value=200),
)
def test_surrogate_pair_at_the_boundary(before: int, after: int) -> None:
    body = "ł" * before + "😀" + "ł" * after
    units = before + 2 + after
    _, segments = gsm7_segments(body)
    if units <= 70:
        assert segments == 1
    elif before == 66:  # the pair would straddle units 67 and 68: it moves on
        assert segments == 1 + math.ceil((2 + after) / 67)
    else:
        assert segments == math.ceil(units / 67)
