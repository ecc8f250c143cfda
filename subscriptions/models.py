"""What readers follow and the digests they receive."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
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


class SavedSearch(models.Model):
    """A followed search: a query in the site's search syntax, optionally within one tag (subscriptions/searches.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    query = models.CharField(max_length=500, help_text="As cleaned by the search page, e.g. “hard negatives” -LLM.")
    query_key = models.CharField(
        max_length=500, editable=False, help_text="The query folded to lower case: the same query twice is one follow."
    )
    tag = models.ForeignKey(
        "papers.Tag", null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Only in this tag."
    )
    name = models.CharField(max_length=100, blank=True, help_text="The reader's own name for it (default: the query).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "followed search"
        verbose_name_plural = "followed searches"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "query_key"], condition=Q(tag__isnull=True), name="savedsearch_unique_query"
            ),
            models.UniqueConstraint(
                fields=["user", "query_key", "tag"], condition=Q(tag__isnull=False), name="savedsearch_unique_query_tag"
            ),
        ]

    def __str__(self):
        return f"{self.user} follows the search {self.label}"

    @property
    def label(self) -> str:
        """How the reader sees it: their name for it, else the query (quoted unless it quotes itself), with its tag."""
        if self.name:
            return self.name
        text = self.query if '"' in self.query else f"“{self.query}”"
        return f"{text} in #{self.tag.slug}" if self.tag_id else text


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
        # Chosen by bench/eval_digests.py's sweep (docs/digests.md#choosing-the-papers).
        default=0.75,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 ranks by trending only, 1 by similarity to the reader's own papers only.",
    )
    follow_on_comment = models.BooleanField(
        "follow the discussions I comment in",
        default=True,
        help_text="Commenting on a paper follows its discussion: its new comments come in a daily email.",
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


class DeliveryStatus(models.TextChoices):
    """Where an email of ours stands (a digest, a discussion notice): the states of DeliveryQuerySet."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped (nothing new)"
    RETRY = "retry", "Failed for now (the next dispatch tries again)"
    FAILED = "failed", "Failed"


class DeliveryQuerySet(models.QuerySet):
    """An email's life as named transitions, each one conditional UPDATE on its current status.

    queued -> sending (claim) -> sent (mark_sent); sending -> queued (release, a temporary
    SMTP error mid-chunk) or failed (refuse, a permanent one); queued -> retry (the task's
    retries ran out: the next dispatch tries again), skipped (nothing to send) or failed
    (give_up, too many attempts); requeue_stale brings back what dead workers and temporary
    failures left behind. Whoever's UPDATE changes a row owns that step: a duplicated or
    redelivered task finds nothing left to do. Shared by digests and discussion notices.
    """

    def claim(self, pk: int, *, started_at, subject: str, message_id: str) -> bool:
        """queued -> sending, counting the attempt: True if this caller now owns the send."""
        return bool(
            self.filter(pk=pk, status=DeliveryStatus.QUEUED).update(
                status=DeliveryStatus.SENDING,
                sending_started_at=started_at,
                attempts=models.F("attempts") + 1,
                subject=subject[:255],
                message_id=message_id,
            )
        )

    def mark_sent(self, pk: int, *, sent_at) -> int:
        return self.filter(pk=pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.SENT, sent_at=sent_at, last_error=""
        )

    def mark_sent_and_claim(
        self, sent_pk: int, *, sent_at, claim_pk: int, started_at, subject: str, message_id: str
    ) -> tuple[bool, bool]:
        """mark_sent(sent_pk) and claim(claim_pk) in one UPDATE: (was it marked sent, is the next one ours).

        The two steps a chunk takes between two messages, in one statement, so a chunk
        costs one UPDATE per email. It changes nothing else: the one email `sending`
        at any moment is still the one being handed to SMTP.
        """
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        adapt = connection.ops.adapt_datetimefield_value
        sql = (
            f"UPDATE {table} SET"
            " status = CASE WHEN id = %s THEN %s ELSE %s END,"
            " sent_at = CASE WHEN id = %s THEN %s ELSE sent_at END,"
            " last_error = CASE WHEN id = %s THEN '' ELSE last_error END,"
            " sending_started_at = CASE WHEN id = %s THEN %s ELSE sending_started_at END,"
            " attempts = CASE WHEN id = %s THEN attempts + 1 ELSE attempts END,"
            " subject = CASE WHEN id = %s THEN %s ELSE subject END,"
            " message_id = CASE WHEN id = %s THEN %s ELSE message_id END"
            " WHERE (id = %s AND status = %s) OR (id = %s AND status = %s)"
            " RETURNING id"
        )
        sending, sent, queued = DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.QUEUED
        params = [sent_pk, sent, sending, sent_pk, adapt(sent_at), sent_pk, claim_pk, adapt(started_at)]
        params += [claim_pk, claim_pk, subject[:255], claim_pk, message_id]
        params += [sent_pk, sending, claim_pk, queued]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            changed = {row[0] for row in cursor.fetchall()}
        return sent_pk in changed, claim_pk in changed

    def release(self, pk: int, *, error: str) -> int:
        """sending -> queued after a temporary error: the chunk's retry sends it."""
        return self.filter(pk=pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.QUEUED, last_error=error[:2000]
        )

    def refuse(self, pk: int, *, error: str) -> int:
        """sending -> failed: the server refused this message for good."""
        return self.filter(pk=pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED, last_error=error[:2000]
        )

    def skip(self, pks, *, reason: str = "") -> int:
        return self.filter(pk__in=list(pks), status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.SKIPPED, last_error=reason
        )

    def give_up(self, pks, *, reason: str) -> int:
        return self.filter(pk__in=list(pks), status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.FAILED, last_error=reason[:2000]
        )

    def to_retry(self, pks, *, error: str) -> int:
        """queued -> retry: the chunk's task ran out of retries on temporary errors; a later dispatch tries again."""
        return self.filter(pk__in=list(pks), status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.RETRY, last_error=error[:2000]
        )

    def requeue_stale(self, *, now, lease, grace, horizon, max_attempts: int) -> list[int]:
        """What needs sending again (created after `horizon`), back to queued; their ids.

        `sending` for longer than `lease` (its worker died: sent again with the same
        Message-ID), `retry` within `max_attempts`, and `queued` for longer than `grace`
        (its task may be lost).
        """
        recent = self.filter(created_at__gte=horizon)
        stale_sending = list(
            recent.filter(status=DeliveryStatus.SENDING, sending_started_at__lt=now - lease).values_list(
                "pk", flat=True
            )
        )
        if stale_sending:
            self.filter(pk__in=stale_sending, status=DeliveryStatus.SENDING, sending_started_at__lt=now - lease).update(
                status=DeliveryStatus.QUEUED, last_error="Recovered after its worker stopped while sending."
            )
        retry = list(recent.filter(status=DeliveryStatus.RETRY, attempts__lt=max_attempts).values_list("pk", flat=True))
        if retry:
            self.filter(pk__in=retry, status=DeliveryStatus.RETRY).update(status=DeliveryStatus.QUEUED)
        stale_queued = recent.filter(
            status=DeliveryStatus.QUEUED, created_at__lt=now - grace, attempts__lt=max_attempts
        ).values_list("pk", flat=True)
        return sorted(set(stale_sending) | set(retry) | set(stale_queued))


class Delivery(models.Model):
    """What every email of ours records of its delivery (a digest, a discussion notice), moved by the
    named transitions of DeliveryQuerySet."""

    Status = DeliveryStatus

    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    # Set by dispatch from the `now` it was given (not auto_now_add): scheduling compares it with due instants.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class Digest(Delivery):
    """One email (or a recorded decision not to send one) for a reader and period."""

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

    class Meta(Delivery.Meta):
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
    saved_search = models.ForeignKey(
        SavedSearch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Its section, if a search.",
    )
    rank = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=300)
    other_tags = models.CharField(max_length=300, blank=True, help_text="Other followed tags the paper is in.")

    class Meta:
        ordering = ["digest", "rank"]
        constraints = [models.UniqueConstraint(fields=["digest", "paper"], name="digestitem_unique_paper")]

    def __str__(self):
        return f"{self.rank}. {self.paper}"


class DiscussionFollow(models.Model):
    """A reader follows a paper's discussion: at most one email a day with its new comments (discussions.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="discussion_follows")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="discussion_follows")
    # Comments from this instant on are new to the reader (set by the caller's `now`, not auto_now_add).
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["paper", "created_at"], name="discussionfollow_paper_idx")]
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="discussionfollow_unique_user_paper")]

    def __str__(self):
        return f"{self.user} follows the discussion of {self.paper_id}"


class DiscussionNotice(Delivery):
    """One email (or a recorded decision not to send one) about new comments, for a reader and local day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="discussion_notices")
    day_key = models.CharField(max_length=10, help_text="The reader's local date, e.g. 2026-11-30.")

    class Meta(Delivery.Meta):
        indexes = [models.Index(fields=["status", "created_at"], name="discussionnotice_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["user", "day_key"], name="discussionnotice_unique_user_day"),
        ]

    def __str__(self):
        return f"{self.user} {self.day_key} ({self.status})"


class DiscussionNoticeItem(models.Model):
    """A comment a notice tells about: chosen with the notice, so a retry mails the same ones."""

    notice = models.ForeignKey(DiscussionNotice, on_delete=models.CASCADE, related_name="items")
    comment = models.ForeignKey("papers.Comment", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["notice", "comment"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "comment"], name="discussionnoticeitem_unique_comment"),
        ]

    def __str__(self):
        return f"comment {self.comment_id} in notice {self.notice_id}"
