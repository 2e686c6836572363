# New contacts per day and source (conversion by source) and the RFM grid as rollups.
#
# Contacts mark their creation day like orders mark theirs (0002): a statement trigger on
# insert and delete; on update a row trigger that fires only when a column the rollup groups
# or filters by changed (contacts are updated all the time: score, stage, last seen), and
# marks the day as it was and as it is. Sales days gain their new customers' net to date
# (historical CLV without the customer table) and customers a covering index (time to
# purchase).

from decimal import Decimal

from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION analytics_mark_leads_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_dirtyday (kind, day, marked_at)
  SELECT 'contacts', x.day, now() FROM (
    SELECT DISTINCT (c.created_at AT TIME ZONE 'UTC')::date AS day FROM changed c
  ) x;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION analytics_mark_leads_contact_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_dirtyday (kind, day, marked_at)
  SELECT DISTINCT 'contacts', (d AT TIME ZONE 'UTC')::date, now()
  FROM unnest(ARRAY[OLD.created_at, NEW.created_at]) AS d;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_ins AFTER INSERT ON leads_contact
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_leads_contact();
CREATE TRIGGER analytics_mark_del AFTER DELETE ON leads_contact
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_leads_contact();
CREATE TRIGGER analytics_mark_upd AFTER UPDATE ON leads_contact FOR EACH ROW
  WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.source_channel IS DISTINCT FROM NEW.source_channel
        OR OLD.first_touch->>'utm_campaign' IS DISTINCT FROM NEW.first_touch->>'utm_campaign'
        OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id
        OR OLD.erased_at IS DISTINCT FROM NEW.erased_at)
  EXECUTE FUNCTION analytics_mark_leads_contact_row();
"""

DROP = """
DROP TRIGGER IF EXISTS analytics_mark_ins ON leads_contact;
DROP TRIGGER IF EXISTS analytics_mark_del ON leads_contact;
DROP TRIGGER IF EXISTS analytics_mark_upd ON leads_contact;
DROP FUNCTION IF EXISTS analytics_mark_leads_contact();
DROP FUNCTION IF EXISTS analytics_mark_leads_contact_row();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_clv"),
        ("leads", "0014_journey_causes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RfmCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cutoffs_id", models.BigIntegerField()),
                ("recency", models.PositiveSmallIntegerField()),
                ("frequency", models.PositiveSmallIntegerField()),
                ("customers", models.PositiveIntegerField(default=0)),
                ("net", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16)),
            ],
        ),
        migrations.AlterField(
            model_name="dirtyday",
            name="kind",
            field=models.CharField(
                choices=[
                    ("sales", "sales"),
                    ("traffic", "traffic"),
                    ("stages", "stages"),
                    ("contacts", "contacts"),
                ],
                max_length=8,
            ),
        ),
        migrations.CreateModel(
            name="ContactDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("channel", models.CharField(max_length=80)),
                ("campaign", models.CharField(blank=True, max_length=200)),
                ("contacts", models.PositiveIntegerField(default=0)),
                ("customers", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "channel"], name="contactday_day")],
            },
        ),
        migrations.RunSQL(sql=TRIGGERS, reverse_sql=DROP),
        # Existing contacts: every creation day marked, so the next refresh fills the rollup.
        migrations.RunSQL(
            sql=(
                "INSERT INTO analytics_dirtyday (kind, day, marked_at) "
                "SELECT DISTINCT 'contacts', (created_at AT TIME ZONE 'UTC')::date, now() "
                "FROM leads_contact"
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveIndex(model_name="customerfact", name="customer_first_day"),
        migrations.AddIndex(
            model_name="customerfact",
            index=models.Index(
                fields=["first_order_day", "channel"],
                include=("campaign", "first_seen_at", "first_order_at"),
                name="customer_first_day_cover",
            ),
        ),
        migrations.AddField(
            model_name="salesday",
            name="customers_net",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=16),
        ),
        # Existing sales days: their new customers' net to date, as the refresh now writes it.
        migrations.RunSQL(
            sql="""
            UPDATE analytics_salesday s SET customers_net = x.net
            FROM (
                SELECT first_order_day, channel, campaign, sum(net) AS net
                FROM analytics_customerfact GROUP BY 1, 2, 3
            ) x
            WHERE x.first_order_day = s.day AND x.channel = s.channel AND x.campaign = s.campaign
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
