"""What readers follow and the digests they receive."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import subscriptions.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("papers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Digest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("scheduled", "Scheduled"), ("manual", "Sent on request")],
                        default="scheduled",
                        help_text="Scheduled digests count for the reader's period; requested ones (send now, --force) do not.",
                        max_length=16,
                    ),
                ),
                (
                    "period_key",
                    models.CharField(
                        help_text="The reader's delivery period, e.g. 2026-11-30 or 2026-W49.", max_length=32
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sending", "Sending"),
                            ("sent", "Sent"),
                            ("skipped", "Skipped (nothing new)"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("sending_started_at", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("message_id", models.CharField(blank=True, max_length=255, verbose_name="Message-ID")),
                ("subject", models.CharField(blank=True, max_length=255)),
                ("last_error", models.TextField(blank=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="digests", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="DigestItem",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("rank", models.PositiveSmallIntegerField()),
                ("reason", models.CharField(max_length=300)),
                (
                    "other_tags",
                    models.CharField(blank=True, help_text="Other followed tags the paper is in.", max_length=300),
                ),
                (
                    "digest",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="items", to="subscriptions.digest"
                    ),
                ),
                (
                    "paper",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="digest_items", to="papers.paper"
                    ),
                ),
                (
                    "tag",
                    models.ForeignKey(
                        null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="papers.tag"
                    ),
                ),
            ],
            options={
                "ordering": ["digest", "rank"],
            },
        ),
        migrations.CreateModel(
            name="DigestSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "frequency",
                    models.CharField(
                        choices=[
                            ("daily", "Every day"),
                            ("weekdays", "Weekdays (Monday to Friday)"),
                            ("weekly", "Once a week (Monday)"),
                            ("off", "Off"),
                        ],
                        default="daily",
                        max_length=16,
                    ),
                ),
                (
                    "delivery_hour",
                    models.PositiveSmallIntegerField(
                        default=8,
                        help_text="Hour of the day, in the reader's own timezone, after which the digest goes out.",
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(23),
                        ],
                    ),
                ),
                (
                    "timezone",
                    models.CharField(default="UTC", max_length=64, validators=[subscriptions.models.validate_timezone]),
                ),
                (
                    "papers_per_tag",
                    models.PositiveSmallIntegerField(
                        default=5,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(20),
                        ],
                    ),
                ),
                (
                    "personalization",
                    models.FloatField(
                        default=0.5,
                        help_text="0 ranks by trending only, 1 by similarity to the reader's own papers only.",
                        validators=[
                            django.core.validators.MinValueValidator(0.0),
                            django.core.validators.MaxValueValidator(1.0),
                        ],
                        verbose_name="popular vs. for me",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="digest_settings",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "digest settings",
                "verbose_name_plural": "digest settings",
            },
        ),
        migrations.CreateModel(
            name="TagFollow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="follows", to="papers.tag"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_follows",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["tag__name"],
            },
        ),
        migrations.AddIndex(
            model_name="digest",
            index=models.Index(fields=["status", "created_at"], name="digest_status_time_idx"),
        ),
        migrations.AddIndex(
            model_name="digest",
            index=models.Index(fields=["user", "kind", "-created_at"], name="digest_user_kind_time_idx"),
        ),
        migrations.AddConstraint(
            model_name="digest",
            constraint=models.UniqueConstraint(fields=("user", "period_key"), name="digest_unique_user_period"),
        ),
        migrations.AddConstraint(
            model_name="digestitem",
            constraint=models.UniqueConstraint(fields=("digest", "paper"), name="digestitem_unique_paper"),
        ),
        migrations.AddConstraint(
            model_name="digestsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("delivery_hour__gte", 0), ("delivery_hour__lte", 23)),
                name="digestsettings_hour_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="digestsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("papers_per_tag__gte", 1), ("papers_per_tag__lte", 20)),
                name="digestsettings_per_tag_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="digestsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("personalization__gte", 0), ("personalization__lte", 1)),
                name="digestsettings_personalization_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="tagfollow",
            constraint=models.UniqueConstraint(fields=("user", "tag"), name="tagfollow_unique_user_tag"),
        ),
    ]
