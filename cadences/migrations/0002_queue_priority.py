# The queue's priority rules, adjusted by the sales manager

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cadences", "0001_cadences"),
    ]

    operations = [
        migrations.AddField(
            model_name="slapolicy",
            name="new_lead_hours",
            field=models.PositiveSmallIntegerField(default=24),
        ),
        migrations.AddField(
            model_name="slapolicy",
            name="new_leads_first",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="slapolicy",
            name="then_by",
            field=models.CharField(
                choices=[
                    ("overdue", "the most overdue step first, then the highest score"),
                    ("score", "the highest score first, then the most overdue step"),
                ],
                default="overdue",
                max_length=8,
            ),
        ),
    ]
