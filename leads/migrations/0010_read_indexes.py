# Contact search at a million contacts (bench: contacts-search).
#
# 1. An e-mail search is a prefix of the address (`lower(email) LIKE 'ada@engi%'`). Under the
#    database's collation (not "C") the Lower(email) index answers equality only, so the
#    prefix went to the trigram index, whose lists for "com", "exa", "@ex" … hold nearly
#    every contact: 75-100 ms a search at 1,000,000 contacts. text_pattern_ops compares
#    characters, not collation order, so the prefix is a range scan of this index (< 1 ms).
#    Built CONCURRENTLY, so a large contact table keeps taking writes (hence atomic = False).
#
# 2. Sorting by score ("highest score first") had no index: every page read and sorted the
#    whole table, 400-550 ms at 1,000,000 contacts, alone or with a filter. (score DESC, id
#    DESC) serves the keyset pages both ways, like contact_created and contact_last_seen.
#    The cost: a score change is no longer a HOT update (the scoring writes one only when the
#    score actually changes).
#
# 3. ANALYZE keeps 1,000 sample values of the trigram index's expression instead of 100.
#    With 100, a word 1 contact in 5,000 has and one 1 in 100 has look alike (one sample hit
#    or none), and the planner walked the created_at index testing every row for the rare
#    one (half a second). leads.selectors reads the same sample to plan rare words itself.
#    Skipped where the trigram index is missing (no pg_trgm: the embedded dev database).
#
# Database only: none of this is in Contact.Meta (leads/models/contacts.py), so Django's model
# state does not know them and makemigrations leaves them alone.
#

from django.db import migrations

STATISTICS = 1000


def sample_more(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('contact_search_trgm') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute(
                f"ALTER INDEX contact_search_trgm ALTER COLUMN 1 SET STATISTICS {STATISTICS}"
            )


def sample_less(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('contact_search_trgm') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("ALTER INDEX contact_search_trgm ALTER COLUMN 1 SET STATISTICS -1")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0009_segments"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_email_prefix "
            "ON leads_contact (lower(email) text_pattern_ops)",
            "DROP INDEX CONCURRENTLY IF EXISTS contact_email_prefix",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_score "
            "ON leads_contact (score DESC, id DESC)",
            "DROP INDEX CONCURRENTLY IF EXISTS contact_score",
        ),
        migrations.RunPython(sample_more, sample_less),
    ]
