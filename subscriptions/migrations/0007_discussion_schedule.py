"""The beat schedule that mails discussion notices: "Dispatch discussion emails", every 15 minutes.

Upserted by name: an existing row, perhaps edited by an operator in the admin, is left alone.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Dispatch discussion emails"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    _, created = PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "subscriptions.dispatch_discussion_notices",
            "interval": schedule,
            "enabled": True,
            "description": (
                "Creates each due reader's daily email of new comments on the discussions they follow and queues "
                "sending (subscriptions/discussions.py)."
            ),
        },
    )
    if created:
        # Tell a running beat (DatabaseScheduler) that the schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0006_discussion_notices"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
