"""Digest kinds: "Send me a digest now" is the period's digest (requested); --force sends extra ones.

Digests of the old kind "manual" had keys of their own ("now-..."), outside the schedule: they become "extra".
"""

from django.db import migrations, models


def manual_to_extra(apps, schema_editor):
    apps.get_model("subscriptions", "Digest").objects.filter(kind="manual").update(kind="extra")


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_dispatch_schedule"),
    ]

    operations = [
        migrations.AlterField(
            model_name="digest",
            name="kind",
            field=models.CharField(
                choices=[
                    ("scheduled", "Scheduled"),
                    ("requested", "Sent early on the reader's request"),
                    ("extra", "Extra, outside the schedule"),
                ],
                default="scheduled",
                help_text="Scheduled and requested digests (“Send me a digest now”) are the reader's one digest of their period; extra ones (send_digests --force) are outside the schedule.",
                max_length=16,
            ),
        ),
        migrations.RunPython(manual_to_extra, migrations.RunPython.noop),
    ]
