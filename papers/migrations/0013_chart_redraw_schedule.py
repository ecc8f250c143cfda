"""The beat entry that redraws the stored pages' charts just after midnight (papers.redraw_paper_charts)."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

REDRAW_NAME = "Redraw paper charts"


def create_redraw_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    # The charts end on the day in the site's time zone (papers/paper_pages.py chart_key).
    after_midnight, _ = CrontabSchedule.objects.get_or_create(
        minute="1", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    _, created = PeriodicTask.objects.get_or_create(
        name=REDRAW_NAME,
        defaults={
            "task": "papers.redraw_paper_charts",
            "crontab": after_midnight,
            "description": "Redraws the stored paper pages' upvote charts for the new day.",
        },
    )
    if created:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_redraw_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=REDRAW_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0012_stored_paper_pages"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_redraw_schedule, remove_redraw_schedule)]
