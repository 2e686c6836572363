from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_inbound_processing_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactimport",
            name="kind",
            field=models.CharField(
                choices=[("contacts", "Contacts"), ("orders", "Orders")],
                default="contacts",
                max_length=10,
                verbose_name="kind",
            ),
        ),
    ]
