"""Digest.kind (scheduled vs. requested) and the beat schedule that dispatches digests."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

DISPATCH_TASK_NAME = "Dispatch due digests"


def create_dispatch_schedule(apps, schema_editor):
    """Upsert the periodic task by name; an existing row (maybe edited in the admin) is left alone."""
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=DISPATCH_TASK_NAME,
        defaults={
            "task": "subscriptions.dispatch_due_digests",
            "interval": schedule,
            "enabled": True,
            "description": "Creates one Digest per due reader and queues sending (subscriptions/scheduling.py).",
        },
    )


def remove_dispatch_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DISPATCH_TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="digest",
            name="kind",
            field=models.CharField(
                choices=[("scheduled", "Scheduled"), ("manual", "Sent on request")],
                default="scheduled",
                help_text="Scheduled digests count for the reader's period; requested ones (send now, --force) do not.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="digest",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddIndex(
            model_name="digest",
            index=models.Index(fields=["user", "kind", "-created_at"], name="digest_user_kind_time_idx"),
        ),
        migrations.RunPython(create_dispatch_schedule, remove_dispatch_schedule),
    ]
