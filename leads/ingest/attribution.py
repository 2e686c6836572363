"""Where a visit came from: UTM parameters, referrer and click ids → one channel label."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
CLICK_IDS = ("gclid", "fbclid", "ttclid")


def touch_from(url: str, referrer: str, campaign: dict[str, Any] | None) -> dict[str, str]:
    """A touch: utm_* (context.campaign wins over the URL), referrer, click ids, landing URL."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url or "").query).items() if v}
    campaign = campaign or {}
    touch = {}
    for key in UTM_KEYS:
        value = campaign.get("name" if key == "campaign" else key) or query.get(f"utm_{key}")
        if value:
            touch[f"utm_{key}"] = str(value)[:200]
    for key in CLICK_IDS:
        if query.get(key):
            touch[key] = query[key][:200]
    if referrer:
        touch["referrer"] = referrer[:500]
    if url:
        touch["landing_url"] = url[:1000]
    return touch


def channel_of(touch: dict[str, str], own_host: str = "") -> str:
    """ "google / cpc", "facebook / paid-social", "referral: example.com" or "direct"."""
    if touch.get("utm_source"):
        medium = touch.get("utm_medium", "")
        return f"{touch['utm_source']} / {medium}" if medium else touch["utm_source"]
    if touch.get("gclid"):
        return "google / cpc"
    if touch.get("fbclid"):
        return "facebook / paid-social"
    if touch.get("ttclid"):
        return "tiktok / paid-social"
    host = urlsplit(touch.get("referrer", "")).hostname or ""
    if host and host != own_host:
        host = host.removeprefix("www.")
        if any(
            engine in host for engine in ("google.", "bing.", "baidu.", "duckduckgo.", "yahoo.")
        ):
            return f"{host.split('.')[0]} / organic"
        return f"referral: {host}"
    return "direct"
