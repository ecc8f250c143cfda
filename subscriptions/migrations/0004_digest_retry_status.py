"""Digest status "retry": failed for now, tried again by the next dispatch.

It used to be "failed" with a prefix in last_error; such rows become "retry" without the prefix.
"""

from django.db import migrations, models

OLD_PREFIX = "Temporary failure, tried again by the next dispatch: "


def prefix_to_status(apps, schema_editor):
    Digest = apps.get_model("subscriptions", "Digest")
    for digest in Digest.objects.filter(status="failed", last_error__startswith=OLD_PREFIX):
        digest.status = "retry"
        digest.last_error = digest.last_error.removeprefix(OLD_PREFIX)
        digest.save(update_fields=["status", "last_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_digest_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="digest",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("skipped", "Skipped (nothing new)"),
                    ("retry", "Failed for now (the next dispatch tries again)"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=16,
            ),
        ),
        migrations.RunPython(prefix_to_status, migrations.RunPython.noop),
    ]
