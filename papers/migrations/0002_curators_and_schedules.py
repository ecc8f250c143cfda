"""What the catalogue starts with: the "Curators" group and its beat schedule.

- the Curators group, with the permissions to change the catalogue and run imports;
- "Refresh trending scores", every 10 minutes (papers/trending.py);
- "Import the newest arXiv papers", daily at 05:30 UTC, created disabled.

Each is upserted by name: running this against a database where one exists (an
operator edited the group or enabled a task in the admin) leaves the edit alone.
"""

from django.db import migrations
from django.utils import timezone

TRENDING_NAME = "Refresh trending scores"
TRENDING_TASK = "papers.refresh_trending"
CURATORS = "Curators"
DAILY_IMPORT_NAME = "Import the newest arXiv papers"
DAILY_IMPORT_TASK = "papers.import_newest_arxiv"

# Change the catalogue and run imports; nothing about users, groups or permissions.
CURATOR_PERMISSIONS = [
    "add_paper",
    "change_paper",
    "view_paper",
    "import_papers",
    "add_author",
    "change_author",
    "view_author",
    "add_paperauthor",
    "change_paperauthor",
    "delete_paperauthor",
    "view_paperauthor",
    "add_tag",
    "change_tag",
    "view_tag",
    "add_tagrule",
    "change_tagrule",
    "delete_tagrule",
    "view_tagrule",
    "view_upvote",
    "view_bookmark",
]


def create_curators(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; this group needs them now.
    papers = apps.get_app_config("papers")
    papers.models_module = True
    create_permissions(papers, apps=apps, verbosity=0)
    papers.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, created = Group.objects.get_or_create(name=CURATORS)
    if created:
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="papers", codename__in=CURATOR_PERMISSIONS)
        )


def remove_curators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CURATORS).delete()


def create_daily_import(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="5", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    _, created = PeriodicTask.objects.get_or_create(
        name=DAILY_IMPORT_NAME,
        defaults={
            "task": DAILY_IMPORT_TASK,
            "crontab": crontab,
            "enabled": False,
            "description": "Imports the newest papers of ARXIV_CATEGORIES from the arXiv API. Enable it here.",
        },
    )
    if created:
        # Tell a running beat (DatabaseScheduler) that the schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_daily_import(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DAILY_IMPORT_NAME).delete()


def create_trending_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_10_minutes, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    _, created = PeriodicTask.objects.get_or_create(
        name=TRENDING_NAME,
        defaults={
            "task": TRENDING_TASK,
            "interval": every_10_minutes,
            "description": "Recomputes the trending scores from recent upvotes (papers/trending.py).",
        },
    )
    if created:
        # Tell a running beat (DatabaseScheduler) that the schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_trending_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TRENDING_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_curators, remove_curators),
        migrations.RunPython(create_trending_schedule, remove_trending_schedule),
        migrations.RunPython(create_daily_import, remove_daily_import),
    ]
