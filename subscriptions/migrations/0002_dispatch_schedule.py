"""The beat schedule that dispatches digests: "Dispatch due digests", every 15 minutes.

Upserted by name: an existing row, perhaps edited by an operator in the admin, is left alone.
"""

from django.db import migrations
from django.utils import timezone

DISPATCH_TASK_NAME = "Dispatch due digests"


def create_dispatch_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    _, created = PeriodicTask.objects.get_or_create(
        name=DISPATCH_TASK_NAME,
        defaults={
            "task": "subscriptions.dispatch_due_digests",
            "interval": schedule,
            "enabled": True,
            "description": "Creates one Digest per due reader and queues sending (subscriptions/scheduling.py).",
        },
    )
    if created:
        # Tell a running beat (DatabaseScheduler) that the schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_dispatch_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DISPATCH_TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_dispatch_schedule, remove_dispatch_schedule)]
