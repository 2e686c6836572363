# Currency rates to the reporting currency.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("growth", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="CurrencyRate",
            fields=[
                (
                    "currency",
                    models.CharField(
                        max_length=3, primary_key=True, serialize=False, verbose_name="currency"
                    ),
                ),
                (
                    "rate_to_base",
                    models.DecimalField(
                        decimal_places=8,
                        max_digits=16,
                        verbose_name="rate to the reporting currency",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("rate_to_base__gt", 0)), name="currencyrate_positive"
                    )
                ],
            },
        ),
    ]
