"""What readers follow and the digests they receive."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known IANA timezone, such as Europe/Berlin.")


class TagFollow(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tag_follows")
    tag = models.ForeignKey("papers.Tag", on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag__name"]
        constraints = [models.UniqueConstraint(fields=["user", "tag"], name="tagfollow_unique_user_tag")]

    def __str__(self):
        return f"{self.user} follows {self.tag}"


class DigestSettings(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKDAYS = "weekdays", "Weekdays (Monday to Friday)"
        WEEKLY = "weekly", "Once a week (Monday)"
        OFF = "off", "Off"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_settings")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.DAILY)
    delivery_hour = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(0), MaxValueValidator(23)],
        help_text="Hour of the day, in the reader's own timezone, after which the digest goes out.",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    papers_per_tag = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    personalization = models.FloatField(
        "popular vs. for me",
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 ranks by trending only, 1 by similarity to the reader's own papers only.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "digest settings"
        verbose_name_plural = "digest settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(delivery_hour__gte=0, delivery_hour__lte=23), name="digestsettings_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(papers_per_tag__gte=1, papers_per_tag__lte=20), name="digestsettings_per_tag_range"
            ),
            models.CheckConstraint(
                condition=Q(personalization__gte=0, personalization__lte=1),
                name="digestsettings_personalization_range",
            ),
        ]

    def __str__(self):
        return f"Digest settings of {self.user}"


class Digest(models.Model):
    """One email (or a recorded decision not to send one) for a reader and period."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped (nothing new)"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        REQUESTED = "requested", "Sent early on the reader's request"
        EXTRA = "extra", "Extra, outside the schedule"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.SCHEDULED,
        help_text=(
            "Scheduled and requested digests (\u201cSend me a digest now\u201d) are the reader's one digest of"
            " their period; extra ones (send_digests --force) are outside the schedule."
        ),
    )
    period_key = models.CharField(max_length=32, help_text="The reader's delivery period, e.g. 2026-11-30 or 2026-W49.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Set by dispatch from the `now` it was given (not auto_now_add): scheduling compares it with due instants.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="digest_status_time_idx"),
            models.Index(fields=["user", "kind", "-created_at"], name="digest_user_kind_time_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["user", "period_key"], name="digest_unique_user_period")]

    def __str__(self):
        return f"{self.user} {self.period_key} ({self.status})"


class DigestItem(models.Model):
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="digest_items")
    tag = models.ForeignKey("papers.Tag", null=True, on_delete=models.SET_NULL, related_name="+")
    rank = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=300)
    other_tags = models.CharField(max_length=300, blank=True, help_text="Other followed tags the paper is in.")

    class Meta:
        ordering = ["digest", "rank"]
        constraints = [models.UniqueConstraint(fields=["digest", "paper"], name="digestitem_unique_paper")]

    def __str__(self):
        return f"{self.rank}. {self.paper}"
