# Cadences, their versions and steps, the sales team, enrollments, touches, skips, the SLA

import datetime

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("automations", "0009_delivery_ready"),
        ("leads", "0014_journey_causes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Cadence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, unique=True, verbose_name="name")),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "draft"),
                            ("active", "active"),
                            ("paused", "paused"),
                            ("archived", "archived"),
                        ],
                        default="draft",
                        max_length=10,
                    ),
                ),
                ("rank", models.PositiveSmallIntegerField(default=100, verbose_name="rank")),
                (
                    "weight",
                    models.PositiveSmallIntegerField(default=100, verbose_name="A/B weight"),
                ),
                ("rules", models.JSONField(blank=True, default=dict, verbose_name="rules")),
                (
                    "assignment",
                    models.CharField(
                        choices=[
                            ("round_robin", "Round-robin among reps"),
                            ("territory", "By territory (the contact's country)"),
                            ("pool", "Shared pool (first rep free takes it)"),
                        ],
                        default="round_robin",
                        max_length=12,
                        verbose_name="assignment",
                    ),
                ),
                ("draft_steps", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("version", models.PositiveIntegerField(default=1)),
            ],
            options={
                "ordering": ["rank", "name"],
            },
        ),
        migrations.CreateModel(
            name="SlaPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_touch_minutes", models.PositiveIntegerField(default=30)),
                ("remind_before_minutes", models.PositiveIntegerField(default=10)),
                ("reassign", models.BooleanField(default=True)),
                ("lease_minutes", models.PositiveSmallIntegerField(default=10)),
            ],
            options={
                "verbose_name": "SLA policy",
                "verbose_name_plural": "SLA policy",
            },
        ),
        migrations.CreateModel(
            name="Team",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True, verbose_name="name")),
                (
                    "time_zone",
                    models.CharField(default="UTC", max_length=64, verbose_name="time zone"),
                ),
                (
                    "opens",
                    models.TimeField(
                        default=datetime.time(9, 0), verbose_name="business hours from"
                    ),
                ),
                (
                    "closes",
                    models.TimeField(
                        default=datetime.time(18, 0), verbose_name="business hours until"
                    ),
                ),
                ("days", models.JSONField(default=list, verbose_name="business days")),
            ],
        ),
        migrations.CreateModel(
            name="CadenceVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                ("published_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "cadence",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="versions",
                        to="cadences.cadence",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="cadence",
            name="live",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="cadences.cadenceversion",
            ),
        ),
        migrations.CreateModel(
            name="Rep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "territory",
                    models.JSONField(
                        blank=True, default=list, verbose_name="territory (country codes)"
                    ),
                ),
                (
                    "works_from",
                    models.TimeField(default=datetime.time(9, 0), verbose_name="works from"),
                ),
                (
                    "works_until",
                    models.TimeField(default=datetime.time(18, 0), verbose_name="works until"),
                ),
                ("work_days", models.JSONField(blank=True, default=list, verbose_name="work days")),
                (
                    "capacity",
                    models.PositiveIntegerField(default=200, verbose_name="most active leads"),
                ),
                (
                    "away",
                    models.BooleanField(default=False, verbose_name="away (gets no new leads)"),
                ),
                ("last_assigned_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rep",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="cadences.team",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Enrollment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "active"), ("paused", "paused"), ("ended", "ended")],
                        default="active",
                        max_length=8,
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("replied", "replied"),
                            ("ordered", "ordered"),
                            ("qualified", "SQL / meeting booked"),
                            ("unsubscribed", "unsubscribed"),
                            ("bounced", "hard bounce"),
                            ("wrong_number", "wrong number"),
                            ("not_interested", "not interested"),
                            ("bad_lead", "bad lead"),
                            ("stopped", "stopped by hand"),
                            ("finished", "last step done"),
                        ],
                        max_length=16,
                    ),
                ),
                ("step", models.PositiveSmallIntegerField(default=1)),
                (
                    "kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("call", "Call (leave a voicemail)"),
                            ("ghost_call", "Ghost call (no voicemail)"),
                            ("email_manual", "Manual e-mail"),
                            ("email_auto", "Automatic e-mail"),
                            ("sms_manual", "Manual SMS"),
                            ("sms_auto", "Automatic SMS"),
                            ("linkedin_connect", "LinkedIn connection request"),
                            ("linkedin_inmail", "LinkedIn InMail"),
                            ("social", "Other social touch"),
                        ],
                        max_length=20,
                    ),
                ),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("score", models.IntegerField(default=0)),
                ("qualified_at", models.DateTimeField()),
                ("first_touch_at", models.DateTimeField(blank=True, null=True)),
                ("sla_due_at", models.DateTimeField(blank=True, null=True)),
                ("sla_reminded_at", models.DateTimeField(blank=True, null=True)),
                ("sla_missed_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("skips", models.PositiveSmallIntegerField(default=0)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("ended_note", models.CharField(blank=True, max_length=300)),
                ("key", models.CharField(max_length=120, unique=True)),
                (
                    "cadence",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="enrollments",
                        to="cadences.cadence",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrollments",
                        to="leads.contact",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cadences.cadenceversion",
                    ),
                ),
                (
                    "leased_to",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="cadences.rep",
                    ),
                ),
                (
                    "rep",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="enrollments",
                        to="cadences.rep",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Skip",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(max_length=200, verbose_name="reason")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "enrollment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="cadences.enrollment",
                    ),
                ),
                (
                    "rep",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="skips",
                        to="cadences.rep",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Step",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("day", models.PositiveSmallIntegerField(verbose_name="day")),
                ("window_from", models.TimeField(default=datetime.time(9, 0), verbose_name="from")),
                (
                    "window_until",
                    models.TimeField(default=datetime.time(18, 0), verbose_name="until"),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("call", "Call (leave a voicemail)"),
                            ("ghost_call", "Ghost call (no voicemail)"),
                            ("email_manual", "Manual e-mail"),
                            ("email_auto", "Automatic e-mail"),
                            ("sms_manual", "Manual SMS"),
                            ("sms_auto", "Automatic SMS"),
                            ("linkedin_connect", "LinkedIn connection request"),
                            ("linkedin_inmail", "LinkedIn InMail"),
                            ("social", "Other social touch"),
                        ],
                        max_length=20,
                        verbose_name="touch",
                    ),
                ),
                ("script", models.TextField(blank=True, verbose_name="script")),
                ("instructions", models.TextField(blank=True, verbose_name="instructions")),
                (
                    "template",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="automations.messagetemplate",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="steps",
                        to="cadences.cadenceversion",
                    ),
                ),
            ],
            options={
                "ordering": ["position"],
            },
        ),
        migrations.AddField(
            model_name="cadence",
            name="team",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="cadences.team",
            ),
        ),
        migrations.CreateModel(
            name="Touch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("step", models.PositiveSmallIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("call", "Call (leave a voicemail)"),
                            ("ghost_call", "Ghost call (no voicemail)"),
                            ("email_manual", "Manual e-mail"),
                            ("email_auto", "Automatic e-mail"),
                            ("sms_manual", "Manual SMS"),
                            ("sms_auto", "Automatic SMS"),
                            ("linkedin_connect", "LinkedIn connection request"),
                            ("linkedin_inmail", "LinkedIn InMail"),
                            ("social", "Other social touch"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "disposition",
                    models.CharField(
                        choices=[
                            ("connected", "connected"),
                            ("voicemail", "left voicemail"),
                            ("no_answer", "no answer"),
                            ("wrong_number", "wrong number"),
                            ("not_interested", "not interested"),
                            ("meeting", "meeting booked / qualified"),
                            ("bad_lead", "bad lead"),
                            ("sent", "sent"),
                            ("automatic", "sent automatically"),
                        ],
                        max_length=16,
                    ),
                ),
                ("notes", models.TextField(blank=True)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("key", models.CharField(max_length=120, unique=True)),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="leads.contact",
                    ),
                ),
                (
                    "delivery",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="automations.delivery",
                    ),
                ),
                (
                    "enrollment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="touches",
                        to="cadences.enrollment",
                    ),
                ),
                (
                    "rep",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="cadences.rep",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="cadenceversion",
            constraint=models.UniqueConstraint(
                fields=("cadence", "number"), name="cadenceversion_once"
            ),
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(
                    ("status", "active"),
                    models.Q(("kind__in", ["email_auto", "sms_auto"]), _negated=True),
                ),
                fields=["rep", "due_at"],
                name="enrollment_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("kind__in", ["email_auto", "sms_auto"]), ("status", "active")),
                fields=["due_at"],
                name="enrollment_auto_due",
            ),
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("first_touch_at__isnull", True), ("status", "active")),
                fields=["sla_due_at"],
                name="enrollment_sla_open",
            ),
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(fields=["contact", "-started_at"], name="enrollment_contact"),
        ),
        migrations.AddConstraint(
            model_name="enrollment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["active", "paused"])),
                fields=("contact",),
                name="enrollment_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="step",
            constraint=models.UniqueConstraint(fields=("version", "position"), name="step_once"),
        ),
        migrations.AddIndex(
            model_name="touch",
            index=models.Index(fields=["contact", "-at"], name="touch_contact"),
        ),
        migrations.AddIndex(
            model_name="touch",
            index=models.Index(fields=["rep", "-at"], name="touch_rep"),
        ),
    ]
