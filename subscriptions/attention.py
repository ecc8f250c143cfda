"""Failed digests on the admin's "Needs attention" page (papers.attention; registered in apps.py)."""

from datetime import datetime

from django.urls import reverse

from papers.attention import EXAMPLES, RECENT, Attention, Example

from .models import Digest


def failed_digests(now: datetime) -> Attention:
    failed = Digest.objects.filter(status=Digest.Status.FAILED, created_at__gte=now - RECENT)
    examples = [
        Example(
            f"{digest.user.email} ({digest.period_key}): {digest.last_error[:160]}",
            reverse("admin:subscriptions_digest_change", args=[digest.pk]),
            digest.created_at,
        )
        for digest in failed.select_related("user").order_by("-created_at")[:EXAMPLES]
    ]
    return Attention(
        "failed-digests",
        "Failed digests, last 7 days",
        failed.count(),
        f"{reverse('admin:subscriptions_digest_changelist')}?status__exact=failed",
        "Refused for good or given up after every attempt: each needs a look (those left to retry are not here).",
        examples,
    )
