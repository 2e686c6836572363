# Triggers that mark what the rollups must recompute: every write path (ingest, imports, merges,
# the admin, raw SQL) is covered without any of them knowing analytics exists.
#
# Marks are appended, never skipped when one exists: a mark commits with the change that made
# it, so the refresh (which deletes only the marks it saw) can never miss a change that commits
# while it runs. One short row per statement; the refresh empties the table every few seconds.

from django.db import migrations

# (table, kind, day expression over the changed rows `c`, contact expression or None,
#  join, filter)
MARKED = [
    ("leads_order", "sales", "c.placed_at", "c.contact_id", "", ""),
    (
        "leads_refund",
        "sales",
        "o.placed_at",
        "o.contact_id",
        "JOIN leads_order o ON o.id = c.order_id",
        "",
    ),
    ("leads_session", "traffic", "c.started_at", None, "", ""),
    (
        "leads_event",
        "traffic",
        "c.occurred_at",
        None,
        "",
        "c.name IN ('Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed')",
    ),
    ("leads_stagechange", "stages", "c.at", None, "", ""),
]


def function_sql(
    table: str, kind: str, day: str, contact: str | None, join: str, where: str
) -> str:
    where_sql = f"WHERE {where}" if where else ""
    contact_sql = ""
    if contact:
        contact_sql = f"""
  INSERT INTO analytics_dirtycontact (contact_id, marked_at)
  SELECT DISTINCT x.contact_id, now() FROM (
    SELECT {contact} AS contact_id FROM changed c {join} {where_sql}
  ) x
  WHERE x.contact_id IS NOT NULL;"""
    return f"""
CREATE OR REPLACE FUNCTION analytics_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_dirtyday (kind, day, marked_at)
  SELECT '{kind}', x.day, now() FROM (
    SELECT DISTINCT ({day} AT TIME ZONE 'UTC')::date AS day FROM changed c {join} {where_sql}
  ) x;{contact_sql}
  RETURN NULL;
END $$;"""


def triggers_sql(table: str) -> str:
    # A trigger with transition tables takes one event; an UPDATE marks the rows as they are
    # now and as they were (an order moved to another day or contact dirties both).
    return f"""
CREATE TRIGGER analytics_mark_ins AFTER INSERT ON {table}
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_{table}();
CREATE TRIGGER analytics_mark_upd_new AFTER UPDATE ON {table}
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_{table}();
CREATE TRIGGER analytics_mark_upd_old AFTER UPDATE ON {table}
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_{table}();
CREATE TRIGGER analytics_mark_del AFTER DELETE ON {table}
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_{table}();
"""


def drop_sql(table: str) -> str:
    return (
        "".join(
            f"DROP TRIGGER IF EXISTS analytics_mark_{name} ON {table};"
            for name in ("ins", "upd_new", "upd_old", "del")
        )
        + f"DROP FUNCTION IF EXISTS analytics_mark_{table}();"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=function_sql(*row) + triggers_sql(row[0]),
            reverse_sql=drop_sql(row[0]),
        )
        for row in MARKED
    ]
