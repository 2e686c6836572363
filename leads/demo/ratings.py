"""The demo's lead verdicts: the sales manager has judged most of the leads that qualified,
so the lead-quality report and the rules' lift have something to show from the first login.

Verdicts follow what happened to the lead (those that reached SQL were mostly good) and its
source (paid social brings more students and bargain hunters), with a fixed seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Min
from django.utils import timezone

from growth.demo import DEMO_USERS
from growth.roles import Role
from leads.models import Contact, LeadRating, StageChange
from leads.selectors_quality import QUALIFIED, SALES_READY

SHARE_RATED = 0.7
BAD_REASONS = [
    (LeadRating.Reason.NO_NEED, 5),
    (LeadRating.Reason.NO_BUDGET, 4),
    (LeadRating.Reason.NOT_A_BUYER, 3),
    (LeadRating.Reason.WRONG_CONTACT, 2),
    (LeadRating.Reason.OUTSIDE_MARKET, 1),
    (LeadRating.Reason.SPAM, 1),
]


def _good_odds(stage: str, source: str) -> float:
    odds = 0.8 if stage in SALES_READY else 0.4
    if "paid-social" in source:
        odds -= 0.2
    elif "referral" in source or "newsletter" in source:
        odds += 0.1
    return odds


def demo_ratings_load(*, seed: int = 1, advance: Callable[[int], None] = lambda n: None) -> int:
    """Rate the qualified leads once; a second run finds verdicts there and adds none."""
    from growth.models import User

    if LeadRating.objects.exists():
        return 0
    rater = User.objects.filter(username=DEMO_USERS[Role.SALES_MANAGER][0]).first()
    qualified_at = dict(
        StageChange.objects.filter(to_stage__in=QUALIFIED)
        .values("contact_id")
        .annotate(at=Min("at"))
        .values_list("contact_id", "at")
    )
    contacts = Contact.objects.filter(pk__in=qualified_at, merged_into__isnull=True).order_by("pk")
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    reasons, weights = zip(*BAD_REASONS, strict=True)
    now = timezone.now()
    ratings = []
    for contact_id, stage, source in contacts.values_list(
        "pk", "lifecycle_stage", "source_channel"
    ):
        if rng.random() > SHARE_RATED:
            continue
        good = rng.random() < _good_odds(stage, source)
        ratings.append(
            LeadRating(
                contact_id=contact_id,
                verdict=LeadRating.Verdict.GOOD if good else LeadRating.Verdict.BAD,
                reason="" if good else rng.choices(reasons, weights)[0],
                rated_by=rater,
                rated_at=min(now, qualified_at[contact_id] + timedelta(hours=rng.randint(1, 48))),
            )
        )
    LeadRating.objects.bulk_create(ratings, batch_size=2000)
    advance(1)
    return len(ratings)
