"""The `scoring-recompute` scenario: Growth's score recompute against hand-written
`UPDATE … FROM (SELECT … GROUP BY …)` statements doing the same arithmetic, in the same run,
on the same data, each side starting from the same state (restored and vacuumed between).

- **nightly** (the issue's "full recompute"): every contact's score from the ledger as of
  one day later (decay moves every score). Growth: `score_recompute_process` (fit re-check of
  contacts saved since the last run, one aggregate into the staging table, the totals range
  by range: `ContactScore` of every model and `Contact.score`). Baseline: one `UPDATE
  leads_contact … FROM (SELECT … GROUP BY contact_id)` over the same ledger, same decay.
- **one rule changed** (product views +2 → +3): Growth rebuilds that rule's ledger from
  the events, then the totals. Baseline: one `UPDATE … FROM (…)` computing every score
  straight from the events, the shipped rules written into the SQL.
- **every rule rebuilt** (the worst case): Growth rebuilds the whole ledger from the events
  (limits per period, conditions, fit), then the totals; same baseline as above.

Both sides must produce the same `Contact.score` for every contact; the run checks it. Each
measurement is repeated (BENCH_SCORING_REPEATS, default 3 up to 200,000 contacts, else 1)
and the shortest time of each side counts. The shop is `bench/reads.py`'s generated one
(`--contacts` / `--events`, kept with `--reuse-data`); the scoring tables are emptied and
the shipped rules installed first. The stage definitions that follow a recompute are left
out: they are the lifecycle's work, not the score's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import ingest, reads

GOAL_RATIO = 1.5  # the issue: full recompute <= 1.5x a hand-written GROUP BY ... UPDATE
# The recompute's work_mem (leads.services.scoring.RECOMPUTE_WORK_MEM); the hand-written
# statements get the same, so both sides sort and hash in the same memory.
WORK_MEM = "64MB"

# Leads' own decay formula (leads.services.scoring.DECAY_SQL); the run checks they agree.
DECAY_SQL = (
    "power(0.5::float8, least(greatest(date_part('epoch', {at} - {ts}), 0) "
    "/ (86400.0 * {hl}), 1000.0))"
)

# Runs inside the app (a subprocess with the server's environment): one recompute, timed.
RECOMPUTE_SCRIPT = """
import json, sys, time
from datetime import datetime
import django
django.setup()
import time_machine
from django.db import connection
from leads.models import ScoreModel, ScoreRecompute, ScoringRule
from leads.services import scoring

scoring._send_recompute_task = lambda: None  # the bench runs it here, not in a worker
scoring._after_recompute = lambda pk: None  # measure the scores, not the stage definitions
action, at = sys.argv[1], datetime.fromisoformat(sys.argv[2])
scoring.scoring_defaults_ensure()
if action == "rebuild":  # the shipped rules, every one of them to be built from the events
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_scoreentry, leads_contactscore")
    ScoreModel.objects.all().delete()
    scoring.scoring_defaults_ensure()
    ScoringRule.objects.update(ledger_stale=True)
elif action == "rule":  # a marketer changes one rule: product views +2 -> +3
    ScoringRule.objects.filter(model__is_primary=True, name="Product viewed").update(
        points=3, ledger_stale=True
    )
ScoreRecompute.objects.filter(status__in=["queued", "running"]).delete()
with time_machine.travel(at, tick=True):
    began = time.perf_counter()
    scoring.score_recompute_request(kind={"nightly": "nightly", "rule": "rules"}.get(action, "manual"))
    outcome = scoring.score_recompute_process(time_budget=1e9, enqueue_rest=False)
    seconds = time.perf_counter() - began
recompute = ScoreRecompute.objects.get(pk=outcome.recompute_id)
print(json.dumps({
    "status": outcome.status, "steps": outcome.steps, "seconds": seconds,
    "at": recompute.at.isoformat(), "changed": recompute.contacts_changed,
    "staged": recompute.staged_rows, "decay_sql": scoring.DECAY_SQL,
    "work_mem": scoring.RECOMPUTE_WORK_MEM,
    "phases": recompute.rules and "ledger+fit+stage+apply" or "fit+stage+apply",
}))
"""

NIGHTLY_BASELINE = """
UPDATE leads_contact c SET score = s.score
FROM (
    SELECT x.contact_id,
           round(sum(CASE WHEN x.kind = 'behaviour' THEN x.points * {decay} ELSE x.points END)::numeric)::int AS score
    FROM leads_scoreentry x JOIN leads_scoremodel m ON m.id = x.model_id
    WHERE m.is_primary
    GROUP BY x.contact_id
) s
WHERE c.id = s.contact_id AND c.score <> s.score
"""

# The default "Shop" rules (leads.services.scoring.DEFAULT_RULES) written into the SQL by
# hand: behaviour (event, points, awards per period) and the fit rules.
REBUILD_BASELINE = """
WITH r(id, name, points, cap, period) AS (VALUES
    (1, 'Product Viewed', {viewed}, 10 / {viewed}, 'week'), (2, 'Product Added', 10, NULL, NULL),
    (3, 'Checkout Started', 15, NULL, NULL), (4, 'Content Downloaded', 10, NULL, NULL),
    (5, 'Newsletter Subscribed', 5, NULL, NULL), (6, 'Page Viewed', 1, 5, 'day'),
    (7, 'Support Contacted', 5, NULL, NULL), (8, 'Unsubscribed', -20, NULL, NULL),
    (9, 'Email Bounced', -30, NULL, NULL), (10, 'Page Viewed', -15, NULL, NULL)
),
matched AS (
    SELECT e.contact_id, e.occurred_at, r.points, r.cap,
           row_number() OVER (
               PARTITION BY r.id, e.contact_id,
                   CASE WHEN r.cap IS NULL THEN NULL ELSE date_trunc(r.period, e.occurred_at, 'UTC') END
               ORDER BY e.occurred_at, e.id
           ) AS n
    FROM leads_event e JOIN r ON r.name = e.name
    WHERE (r.id <> 9 OR e.properties ->> 'type' = 'hard')
      AND (r.id <> 10 OR strpos(lower(e.properties ->> 'url'), '/careers') > 0)
),
points AS (
    SELECT contact_id, points * {decay} AS v FROM matched WHERE cap IS NULL OR n <= cap
    UNION ALL
    SELECT c.id, (CASE WHEN lower(c.country) IN ('us', 'ca', 'gb', 'de', 'fr', 'nl', 'au') THEN 5 ELSE 0 END)
               + (CASE WHEN c.company <> '' THEN 3 ELSE 0 END)
               + (CASE WHEN split_part(lower(c.email), '@', 2) IN ('competitor.com', 'rivalshop.com') THEN -50 ELSE 0 END)
    FROM leads_contact c WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
)
UPDATE leads_contact c SET score = s.score
FROM (SELECT contact_id, round(sum(v)::numeric)::int AS score FROM points GROUP BY contact_id) s
WHERE c.id = s.contact_id AND c.score <> s.score
"""


def _decay(at_param: str, ts: str) -> str:
    return DECAY_SQL.format(at=at_param, ts=ts, hl="30")


def _recompute(env: dict[str, str], action: str, at: datetime) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", RECOMPUTE_SCRIPT, action, at.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=4 * 3600,
        check=False,
    )
    if result.returncode != 0:
        raise ingest.SetupError(f"scoring recompute ({action}) failed:\n{result.stderr[-3000:]}")
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome["status"] != "done":
        raise ingest.SetupError(f"scoring recompute ({action}) ended {outcome['status']}")
    if outcome["decay_sql"] != DECAY_SQL or outcome["work_mem"] != WORK_MEM:
        raise ingest.SetupError("bench/scoring.py's DECAY_SQL or WORK_MEM differs from the app's")
    return outcome


def _timed(database_url: str, sql: str, params: dict[str, Any]) -> tuple[float, int]:
    with ingest._connect(database_url) as conn:
        conn.execute("SELECT set_config('work_mem', %s, false)", [WORK_MEM])
        began = time.perf_counter()
        cursor = conn.execute(sql, params)
        seconds = time.perf_counter() - began
        return seconds, cursor.rowcount


def _execute(database_url: str, *statements: str) -> None:
    with ingest._connect(database_url) as conn:
        for statement in statements:
            conn.execute(statement)


def _snapshot(database_url: str, name: str, with_scores: bool = True) -> None:
    statements = [
        f"DROP TABLE IF EXISTS bench_{name}_contact",
        f"CREATE UNLOGGED TABLE bench_{name}_contact AS SELECT id, score FROM leads_contact",  # noqa: S608
    ]
    if with_scores:
        statements += [
            f"DROP TABLE IF EXISTS bench_{name}_score",
            f"CREATE UNLOGGED TABLE bench_{name}_score AS SELECT * FROM leads_contactscore",  # noqa: S608
        ]
    _execute(database_url, *statements)


def _restore(database_url: str, name: str, with_scores: bool = True) -> None:
    """Put scores back as the snapshot had them, and leave no dead rows behind, so each
    measured side starts from the same state."""
    statements = [
        f"UPDATE leads_contact c SET score = s.score FROM bench_{name}_contact s "  # noqa: S608
        "WHERE c.id = s.id AND c.score <> s.score"
    ]
    if with_scores:
        statements += [
            "TRUNCATE leads_contactscore",
            f"INSERT INTO leads_contactscore SELECT * FROM bench_{name}_score ORDER BY contact_id",  # noqa: S608
        ]
    _execute(database_url, *statements)
    _vacuum(database_url)


def _vacuum(database_url: str) -> None:
    with ingest._connect(database_url) as conn:  # autocommit: VACUUM needs no transaction
        conn.execute("VACUUM (ANALYZE) leads_contact, leads_contactscore, leads_scoreentry")


def _differ(database_url: str, name: str) -> int:
    with ingest._connect(database_url) as conn:
        return int(
            conn.execute(
                f"SELECT count(*) FROM bench_{name}_contact s JOIN leads_contact c ON c.id = s.id "  # noqa: S608
                "WHERE c.score <> s.score"
            ).fetchone()[0]
        )


def _measurement(label: str, seconds: float, contacts: int) -> dict[str, Any]:
    return {
        "path": label,
        "seconds": round(seconds, 3),
        "contacts_per_s": round(contacts / seconds, 1) if seconds else 0.0,
    }


def _repeats(contacts: int) -> int:
    """Pairs per measurement: the shortest time of each side counts (the least disturbed run
    on a shared machine). BENCH_SCORING_REPEATS overrides; large shops get one."""
    default = 3 if contacts <= 200_000 else 1
    return max(1, int(os.environ.get("BENCH_SCORING_REPEATS", default)))


def _pair(
    url: str,
    env: dict[str, str],
    *,
    label: str,
    action: str,
    at: datetime,
    baseline: str,
    start: str,
    with_scores: bool,
) -> dict[str, Any]:
    """Growth's recompute, then the hand-written statement at the same time, each from the
    snapshot `start`; then how many contacts the two scored differently."""
    _restore(url, start, with_scores=with_scores)
    print(f"  {label}: Growth ...", flush=True)
    growth = _recompute(env, action, at)
    growth_at = datetime.fromisoformat(growth["at"])
    _snapshot(url, "mine")
    _restore(url, start, with_scores=with_scores)
    print(f"  {label}: hand-written baseline ...", flush=True)
    seconds, changed = _timed(url, baseline, {"at": growth_at})
    return {
        "growth": growth,
        "baseline_seconds": seconds,
        "baseline_changed": changed,
        "differ": _differ(url, "mine"),
    }


def _summary(pairs: list[dict[str, Any]], names: tuple[str, str], contacts: int) -> dict[str, Any]:
    growth = min(p["growth"]["seconds"] for p in pairs)
    base = min(p["baseline_seconds"] for p in pairs)
    return {
        "baseline": _measurement(names[0], base, contacts),
        "target": _measurement(names[1], growth, contacts),
        "ratio": round(growth / base, 3) if base else float("inf"),
        "samples": [
            {
                "growth_s": round(p["growth"]["seconds"], 3),
                "baseline_s": round(p["baseline_seconds"], 3),
            }
            for p in pairs
        ],
        "steps": pairs[0]["growth"]["steps"],
        "scores_changed": pairs[0]["growth"]["changed"],
        "baseline_scores_changed": pairs[0]["baseline_changed"],
        "differ": max(p["differ"] for p in pairs),
    }


def run(args: Any, env: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Generate (or reuse) the shop, then measure the recomputes against their baselines."""
    data = reads.prepare(
        args.database_url,
        env,
        contacts=args.contacts,
        events=args.events,
        reuse=getattr(args, "reuse_data", False),
    )
    url = args.database_url
    repeats = _repeats(data.contacts)
    # A night in the life of the shop: contacts were saved before the last recompute, and 5 %
    # of them changed since (the nightly run re-checks those contacts' fit rules). The
    # rebuild starts from scores nobody computed yet: both sides write every contact.
    _execute(
        url,
        "UPDATE leads_contact SET updated_at = now() - interval '2 days', score = 0",
        "TRUNCATE leads_contactscore",
        "UPDATE leads_contact SET updated_at = now() + interval '12 hours' WHERE id % 20 = 0",
        "DROP TABLE IF EXISTS bench_mine_contact",
        "DROP TABLE IF EXISTS bench_mine_score",
    )
    _vacuum(url)
    _snapshot(url, "init")
    from_events = REBUILD_BASELINE.format(decay=_decay("%(at)s", "occurred_at"), viewed=2)
    changed_rule = REBUILD_BASELINE.format(decay=_decay("%(at)s", "occurred_at"), viewed=3)
    over_ledger = NIGHTLY_BASELINE.format(decay=_decay("%(at)s", "x.occurred_at"))

    # Every rule rebuilt from the events, from empty scores; Growth's result is day 0.
    rebuild = [
        _pair(url, env, label="rebuild", action="rebuild", at=datetime.now(UTC),
              baseline=from_events, start="init", with_scores=True)
        for _ in range(repeats)
    ]  # fmt: skip
    _restore(url, "mine")
    _snapshot(url, "day0")
    day0 = datetime.fromisoformat(rebuild[-1]["growth"]["at"])
    # The nightly decay, a day later, from day 0.
    nightly = [
        _pair(url, env, label="nightly", action="nightly", at=day0 + timedelta(days=1),
              baseline=over_ledger, start="day0", with_scores=True)
        for _ in range(repeats)
    ]  # fmt: skip
    # One rule changed (product views +2 -> +3, still at most 10 points a week): Growth
    # rebuilds that rule's ledger; the hand-written query recomputes everything from events.
    rule = [
        _pair(url, env, label="rule change", action="rule", at=datetime.now(UTC),
              baseline=changed_rule, start="day0", with_scores=True)
        for _ in range(repeats)
    ]  # fmt: skip
    _execute(
        url,
        *(
            f"DROP TABLE IF EXISTS bench_{n}_{t}"
            for n in ("init", "day0", "mine")
            for t in ("contact", "score")
        ),
    )

    with ingest._connect(url) as conn:
        ledger = int(conn.execute("SELECT count(*) FROM leads_scoreentry").fetchone()[0])
    contacts = data.contacts
    parts = {
        "nightly": _summary(
            nightly,
            ("GROUP BY ... UPDATE over the ledger", "full recompute (decay, 1 day later)"),
            contacts,
        ),
        "rule": _summary(
            rule,
            ("GROUP BY ... UPDATE from the events", "recompute after one rule changed"),
            contacts,
        ),
        "rebuild": _summary(
            rebuild,
            ("GROUP BY ... UPDATE from the events", "recompute rebuilding every rule"),
            contacts,
        ),
    }
    problems = [
        f"scoring-recompute {key}: {part['differ']} contacts scored differently from the baseline"
        for key, part in parts.items()
        if part["differ"]
    ]
    met = parts["nightly"]["ratio"] <= GOAL_RATIO
    result = {
        "scenario": "scoring-recompute",
        "scoring": True,
        "description": __doc__.splitlines()[0] if __doc__ else "",
        "size": {"contacts": contacts, "events": data.events, "ledger_entries": ledger},
        "repeats": repeats,
        **parts,
        "goal": {
            "goal": f"full recompute <= {GOAL_RATIO:g}x a hand-written GROUP BY ... UPDATE "
            "(the issue states it at 1,000,000 contacts / 20,000,000 events)",
            "met": met,
            "detail": f"nightly {parts['nightly']['ratio']:.2f}x, one rule changed "
            f"{parts['rule']['ratio']:.2f}x, every rule rebuilt {parts['rebuild']['ratio']:.2f}x "
            f"(best of {repeats}), at {contacts:,} contacts / {data.events:,} events / "
            f"{ledger:,} ledger entries",
        },
    }
    return result, problems


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """The scenario's lines in run.py's table: contacts/s in the req/s column, the whole
    run's time in the p50 column (ms)."""
    rows = []
    for n, key in enumerate(("nightly", "rule", "rebuild")):
        part = result[key]
        for label, m in (("baseline", part["baseline"]), ("target", part["target"])):
            is_target = label == "target"
            rows.append(
                [
                    "scoring-recompute" if n == 0 and not is_target else "",
                    m["path"] + ("" if is_target else " (baseline)"),
                    f"{m['contacts_per_s']:.1f}",
                    f"{m['seconds'] * 1000:.0f}",
                    "",
                    str(part["differ"]) if is_target else "0",
                    f"{part['ratio']:.2f}x time" if is_target else "",
                    (
                        {True: "met", False: "NOT met"}[part["ratio"] <= GOAL_RATIO]
                        if is_target
                        else ""
                    ),
                ]
            )
    return rows


def print_details(result: dict[str, Any]) -> None:
    size = result["size"]
    print(f"\n{result['scenario']}:")
    print(
        f"  data: {size['contacts']:,} contacts, {size['events']:,} events, "
        f"{size['ledger_entries']:,} ledger entries; best of {result['repeats']} runs per side"
    )
    labels = {
        "nightly": "nightly (decay, a day later)",
        "rule": "one rule changed",
        "rebuild": "every rule rebuilt",
    }
    for key, label in labels.items():
        part = result[key]
        samples = ", ".join(f"{s['growth_s']:.2f}/{s['baseline_s']:.2f}" for s in part["samples"])
        print(
            f"  {label}: Growth {part['target']['seconds']:.2f} s ({part['steps']} steps), "
            f"baseline {part['baseline']['seconds']:.2f} s: {part['ratio']:.2f}x; "
            f"scores changed {part['scores_changed']:,} (baseline {part['baseline_scores_changed']:,}); "
            f"differing {part['differ']}; runs (Growth/baseline s): {samples}"
        )
    goal = result["goal"]
    print(f"  goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'} ({goal['detail']})")
