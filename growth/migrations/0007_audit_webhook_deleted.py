# Audit action: an outbound webhook subscription deleted.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0006_audit_source_rotated"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("sign_in", "signed in"),
                    ("sign_in_failed", "sign-in failed"),
                    ("sign_out", "signed out"),
                    ("user_created", "user created"),
                    ("roles_changed", "roles changed"),
                    ("api_key_created", "API key created"),
                    ("api_key_revoked", "API key revoked"),
                    ("export", "data exported"),
                    ("erasure", "contact erased"),
                    ("webhook_secret_rotated", "webhook secret rotated"),
                    ("source_rotated", "source key or secret rotated"),
                    ("webhook_deleted", "webhook subscription deleted"),
                ],
                max_length=32,
                verbose_name="action",
            ),
        ),
    ]
