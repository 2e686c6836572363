"""The `segment-preview` scenario: the live count of the segment editor, and how long
membership takes to follow new data, on the generated shop (`--contacts` / `--events`;
the issue states its goals at 1,000,000 contacts / 20,000,000 events).

1. Uses the read scenarios' generated shop (bench/reads.py: contacts spread over stages,
   countries, sources and consent; events of five names over ~70 days).
2. Preview: in a subprocess with the server's environment, the selector the editor's htmx
   endpoint calls (`leads.selectors_segments.segment_preview`: the count and the ten newest
   matching contacts in one query) for five rule sets, each repeated for `--duration`
   seconds (at least 5 times). Baseline: a hand-written `SELECT count(*)` of the first rule
   set ("country is DE and viewed a product at least twice in the last 30 days"), the floor
   any count of it must pay. The EXPLAIN of that preview count is printed with the figures.
3. Membership: ten dynamic segments are created and fully computed (the worker's range-by-
   range computation, timed), then batches of 200 contacts receive a "Product Viewed" event
   each and the real after-batch reactions run (`batch_react`: scores, personas, stages,
   then segment memberships last). The lag reported is from the batch's events being
   committed to the membership rows being committed, i.e. what segments add on top of the
   ingest lag (`ingest-lag`). The segments' own step is also timed alone.
4. Leaves the shop as it found it: the events it added and the segments it made are deleted.

Goals (issue #5): preview count p95 <= 1 s at 1,000,000 contacts; membership update lag
p95 <= 10 s. Reported as met or not, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench import ingest, reads

PREVIEW_GOAL_S = 1.0
LAG_GOAL_S = 10.0
BATCH_CONTACTS = 200
BATCHES = 15
MARKER = "bench-segments"

DE_VIEWERS: dict[str, Any] = {
    "match": "all",
    "conditions": [
        {"kind": "contact", "field": "country", "operator": "eq", "value": "DE"},
        {
            "kind": "event",
            "name": "Product Viewed",
            "count_operator": "gte",
            "count": 2,
            "days": 30,
        },
    ],
}
RULE_SETS: dict[str, dict[str, Any]] = {
    "de-viewers": DE_VIEWERS,
    "engaged-leads": {
        "match": "all",
        "conditions": [
            {"kind": "stage", "operator": "in", "value": ["lead", "mql"]},
            {"kind": "score", "operator": "gte", "value": 50},
            {"kind": "consent", "channel": "email", "status": "granted"},
        ],
    },
    "abandoned-cart": {
        "match": "all",
        "conditions": [
            {
                "kind": "event",
                "name": "Product Added",
                "count_operator": "gte",
                "count": 1,
                "days": 7,
            },
            {
                "kind": "event",
                "name": "Checkout Started",
                "count_operator": "eq",
                "count": 0,
                "days": 7,
            },
        ],
    },
    "any-of": {
        "match": "any",
        "conditions": [
            {"kind": "contact", "field": "country", "operator": "in", "value": ["GB", "FR"]},
            {
                "match": "all",
                "conditions": [
                    {
                        "kind": "contact",
                        "field": "source_channel",
                        "operator": "eq",
                        "value": "email",
                    },
                    {
                        "kind": "contact",
                        "field": "last_seen_at",
                        "operator": "within_days",
                        "value": 7,
                    },
                ],
            },
        ],
    },
    "seen-recently": {
        "match": "all",
        "conditions": [
            {"kind": "contact", "field": "last_seen_at", "operator": "within_days", "value": 30}
        ],
    },
}
BASELINE_SQL = """
    SELECT count(*) FROM leads_contact c
    WHERE c.country = 'DE' AND c.merged_into_id IS NULL AND c.erased_at IS NULL
      AND c.id IN (
        SELECT contact_id FROM leads_event
        WHERE name = 'Product Viewed' AND occurred_at >= now() - interval '30 days'
        GROUP BY contact_id HAVING count(*) >= 2
      )
"""

# Runs inside `manage.py shell` with the server's environment; prints one JSON line.
SCRIPT = r"""
import json, random, statistics, time
from datetime import timedelta
from django.db import connection, transaction
from django.utils import timezone
from leads.models import Event, Segment
from leads.selectors_segments import segment_preview
from leads.services import segments as services
from leads.services.reactions import batch_react
from leads.services.segment_rules import Context, matching_sql, rules_clean

CONFIG = json.loads(%(config)r)
out = {"preview": {}, "compute": [], "batches": [], "step": []}

def timed(fn):
    began = time.perf_counter(); value = fn(); return time.perf_counter() - began, value

for name, raw in CONFIG["rules"].items():
    rules = rules_clean(raw)
    times, count = [], None
    deadline = time.perf_counter() + CONFIG["duration"]
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 200):
        seconds, preview = timed(lambda: segment_preview(rules=rules))
        times.append(seconds); count = preview.count
    out["preview"][name] = {"times": times, "count": count}

with connection.cursor() as cursor:
    times = []
    deadline = time.perf_counter() + CONFIG["duration"]
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 200):
        began = time.perf_counter(); cursor.execute(CONFIG["baseline"]); base_count = cursor.fetchone()[0]
        times.append(time.perf_counter() - began)
    out["baseline"] = {"times": times, "count": base_count}
    match = matching_sql(rules_clean(CONFIG["rules"]["de-viewers"]), Context(now=timezone.now()))
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) SELECT count(*) FROM (" + match.text + ") m", match.params)
    out["explain"] = [row[0] for row in cursor.fetchall()]

# Ten dynamic segments, computed in full as the worker would.
Segment.objects.filter(name__startswith=CONFIG["marker"]).delete()
made = []
names = list(CONFIG["rules"])
for n in range(10):
    segment = services.segment_create(name=f"{CONFIG['marker']} {n}", kind="dynamic", rules=CONFIG["rules"][names[n %% len(names)]])
    seconds, _ = timed(lambda: services.segment_compute(segment_id=segment.pk))
    segment.refresh_from_db()
    out["compute"].append({"rules": names[n %% len(names)], "seconds": seconds, "members": segment.member_count})
    made.append(segment.pk)

lo, hi = CONFIG["first_id"], CONFIG["last_id"]
rng = random.Random(5)
try:
    for batch in range(CONFIG["batches"]):
        ids = sorted({rng.randint(lo, hi) for _ in range(CONFIG["batch_contacts"])})
        now = timezone.now()
        with transaction.atomic():
            events = Event.objects.bulk_create(
                Event(contact_id=i, name="Product Viewed", occurred_at=now, message_id="",
                      properties={"product_id": "p-1", "bench": CONFIG["marker"]}) for i in ids
            )
        committed = time.perf_counter()
        batch_react(contact_ids=ids, event_ids=[e.pk for e in events])
        out["batches"].append(time.perf_counter() - committed)
        # The segments' own step alone, on the same contacts (nothing left to change).
        seconds, _ = timed(lambda: services.segments_evaluate(contact_ids=ids))
        out["step"].append(seconds)
finally:
    Event.objects.filter(properties__bench=CONFIG["marker"]).delete()
    Segment.objects.filter(pk__in=made).delete()
print("RESULT " + json.dumps(out))
"""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(_percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
    }


def run(args: Any, env: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    data = reads.prepare(
        args.database_url,
        env,
        contacts=args.contacts,
        events=args.events,
        reuse=getattr(args, "reuse_data", False),
    )
    config = {
        "rules": RULE_SETS,
        "baseline": BASELINE_SQL,
        "duration": args.duration,
        "marker": MARKER,
        "first_id": data.first_id,
        "last_id": data.last_id,
        "batches": BATCHES,
        "batch_contacts": BATCH_CONTACTS,
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ingest.REPO / "manage.py"),
            "shell",
            "-c",
            SCRIPT % {"config": json.dumps(config)},
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=max(3600, 60 * args.duration),
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        return (
            {"scenario": "segment-preview", "segments": True, "error": result.stderr[-3000:]},
            [f"segment-preview: the measuring subprocess failed:\n{result.stderr[-3000:]}"],
        )
    raw = json.loads(lines[-1][len("RESULT ") :])
    previews = {
        name: {**_stats(values["times"]), "count": values["count"]}
        for name, values in raw["preview"].items()
    }
    baseline = {**_stats(raw["baseline"]["times"]), "count": raw["baseline"]["count"]}
    problems = []
    if previews["de-viewers"]["count"] != baseline["count"]:
        problems.append(
            f"segment-preview: the preview counted {previews['de-viewers']['count']} where the "
            f"hand-written SQL counts {baseline['count']}"
        )
    worst_p95 = max(p["p95_ms"] for p in previews.values()) / 1000
    lag = _stats(raw["batches"])
    step = _stats(raw["step"])
    return (
        {
            "scenario": "segment-preview",
            "segments": True,
            "description": "Segment editor's live count (five rule sets) vs a hand-written count; "
            "membership lag after a batch with ten dynamic segments.",
            "size": {"contacts": data.contacts, "events": data.events},
            "preview": previews,
            "baseline": baseline,
            "ratio_p50": round(previews["de-viewers"]["p50_ms"] / baseline["p50_ms"], 2)
            if baseline["p50_ms"]
            else None,
            "explain": raw["explain"],
            "compute": raw["compute"],
            "lag": {**lag, "batch_contacts": BATCH_CONTACTS, "segments": 10},
            "step": step,
            "goal": {
                "preview": {
                    "goal": f"preview p95 <= {PREVIEW_GOAL_S:g} s (at 1,000,000 contacts)",
                    "met": worst_p95 <= PREVIEW_GOAL_S,
                    "worst_p95_s": worst_p95,
                },
                "lag": {
                    "goal": f"membership lag p95 <= {LAG_GOAL_S:g} s",
                    "met": lag["p95_ms"] / 1000 <= LAG_GOAL_S,
                },
            },
        },
        problems,
    )


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """run.py's table: one line per rule set (p50/p99 columns hold p50/p95), the baseline
    first, then the membership lag."""
    if "error" in result:
        return [["segment-preview", "(failed)", "", "", "", "1", "", ""]]
    base = result["baseline"]
    rows = [
        [
            "segment-preview",
            "hand-written count, de-viewers (baseline)",
            "",
            f"{base['p50_ms']:.2f}",
            f"{base['p95_ms']:.2f}",
            "0",
            "",
            "",
        ]
    ]
    met = result["goal"]["preview"]["met"]
    for n, (name, p) in enumerate(result["preview"].items()):
        ratio = (
            f"{result['ratio_p50']:.2f}x p50"
            if name == "de-viewers" and result["ratio_p50"]
            else ""
        )
        rows.append(
            [
                "",
                f"preview {name} ({p['count']:,} match)",
                "",
                f"{p['p50_ms']:.2f}",
                f"{p['p95_ms']:.2f}",
                "0",
                ratio,
                ("met" if met else "NOT met") if n == 0 else "",
            ]
        )
    lag = result["lag"]
    rows.append(
        [
            "",
            f"membership lag, batch of {lag['batch_contacts']}",
            "",
            f"{lag['p50_ms']:.2f}",
            f"{lag['p95_ms']:.2f}",
            "0",
            "",
            "met" if result["goal"]["lag"]["met"] else "NOT met",
        ]
    )
    return rows


def print_details(result: dict[str, Any]) -> None:
    print(f"\n{result['scenario']}:")
    if "error" in result:
        print("  failed: " + result["error"][-500:])
        return
    size = result["size"]
    print(f"  shop: {size['contacts']:,} contacts / {size['events']:,} events")
    for name, p in result["preview"].items():
        print(
            f"  preview {name}: {p['count']:,} contacts, p50 {p['p50_ms']:.1f} ms, "
            f"p95 {p['p95_ms']:.1f} ms ({p['n']} runs, count + ten newest)"
        )
    base = result["baseline"]
    print(
        f"  baseline (hand-written count of de-viewers): p50 {base['p50_ms']:.1f} ms, "
        f"p95 {base['p95_ms']:.1f} ms; preview/baseline p50 {result['ratio_p50']}x"
    )
    print("  EXPLAIN ANALYZE of the de-viewers count:")
    for line in result["explain"]:
        print(f"    {line}")
    for c in result["compute"]:
        print(f"  full computation ({c['rules']}): {c['seconds']:.2f} s, {c['members']:,} members")
    lag, step = result["lag"], result["step"]
    print(
        f"  membership lag after a batch of {lag['batch_contacts']} contacts "
        f"(all after-batch steps, {lag['segments']} dynamic segments + RFM): "
        f"p50 {lag['p50_ms']:.0f} ms, p95 {lag['p95_ms']:.0f} ms, max {lag['max_ms']:.0f} ms; "
        f"the segments step alone p50 {step['p50_ms']:.0f} ms, p95 {step['p95_ms']:.0f} ms"
    )
    for goal in result["goal"].values():
        print(f"  goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'}")
