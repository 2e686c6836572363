# A delivery let through by the limiter and about to be sent: "ready"

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0008_topics"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("scheduled", "scheduled"),
                    ("queued", "queued"),
                    ("ready", "about to be sent"),
                    ("sending", "sending"),
                    ("sent", "sent"),
                    ("delivered", "delivered"),
                    ("opened", "opened"),
                    ("clicked", "clicked"),
                    ("bounced", "bounced"),
                    ("complained", "marked as spam"),
                    ("unsubscribed", "unsubscribed"),
                    ("suppressed", "not sent"),
                    ("failed", "failed"),
                    ("cancelled", "cancelled"),
                ],
                default="scheduled",
                max_length=12,
                verbose_name="status",
            ),
        ),
    ]
