"""Hypothesis against the tracking parser: any body gets a 2xx-able parse or a clear Rejected."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from leads.ingest.attribution import channel_of, touch_from
from leads.ingest.http import Rejected
from leads.ingest.segment import parse_payload

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_never_crash_the_parser(raw):
    try:
        parse_payload(raw, "batch")
    except Rejected as rejected:
        assert rejected.status in (400, 413) and rejected.message


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_arbitrary_json_is_parsed_or_rejected_with_a_message(value):
    for kind in ("batch", "track", "identify", "alias"):
        try:
            _, messages = parse_payload(json.dumps(value).encode(), kind)
        except Rejected as rejected:
            assert rejected.status in (400, 413) and rejected.message
        else:
            assert messages and all(isinstance(m, dict) and m.get("type") for m in messages)


@given(st.text(max_size=80), st.text(max_size=80))
@settings(max_examples=100, deadline=None)
def test_attribution_never_crashes(url, referrer):
    touch = touch_from(url, referrer, None)
    assert isinstance(channel_of(touch), str)


def test_channels():
    assert (
        channel_of(
            touch_from("https://s.example/?utm_source=facebook&utm_medium=paid-social", "", None)
        )
        == "facebook / paid-social"
    )
    assert channel_of(touch_from("https://s.example/?gclid=abc", "", None)) == "google / cpc"
    assert (
        channel_of(touch_from("https://s.example/", "https://www.google.com/search", None))
        == "google / organic"
    )
    assert (
        channel_of(touch_from("https://s.example/", "https://blog.example.org/post", None))
        == "referral: blog.example.org"
    )
    assert channel_of(touch_from("https://s.example/", "", None)) == "direct"
