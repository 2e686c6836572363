# Indexes of the rep queue, found by the queue-claims benchmark (bench/queue.py) at 100,000
# enrollments over 50 reps (2,000 leads a rep), where the claim and the card's "more leads
# due" count each read every due lead of the rep (~10 ms each):
#
# - enrollment_queue_fresh: the leads that qualified within the last hours and were never
#   touched (the front of the queue), by rep and qualification time: a few rows instead of
#   all of the rep's untouched leads.
# - enrollment_queue_waiting: the due manual steps by rep and due time, with every condition
#   of the queue in its predicate (enrollment_queue lacks `kind <> ''`), so the count is an
#   index-only scan and the claim reads the rest of the queue in order from it.
#
# Raw SQL without a model state change: the claim and the count are raw SQL that name these
# conditions, and the "just qualified" one compares with now, which no model index holds.

from django.db import migrations

WAITING_PREDICATE = (
    "status = 'active' AND NOT (kind = ANY (ARRAY['email_auto', 'sms_auto'])) AND kind <> ''"
)


class Migration(migrations.Migration):
    dependencies = [
        ("cadences", "0002_queue_priority"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS enrollment_queue_fresh"
                " ON cadences_enrollment (rep_id, qualified_at)"
                " WHERE status = 'active' AND first_touch_at IS NULL"
            ),
            reverse_sql="DROP INDEX IF EXISTS enrollment_queue_fresh",
        ),
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS enrollment_queue_waiting"
                f" ON cadences_enrollment (rep_id, due_at) WHERE {WAITING_PREDICATE}"
            ),
            reverse_sql="DROP INDEX IF EXISTS enrollment_queue_waiting",
        ),
    ]
