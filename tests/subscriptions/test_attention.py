"""Failed digests on the admin's "Needs attention" page (subscriptions adds the check to papers' page)."""

import pytest
from django.urls import reverse

from papers.attention import attention_items
from subscriptions.models import Digest
from tests.factories import CuratorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_failed_digests_need_attention_and_those_left_to_retry_do_not(client, now):
    reader = UserFactory(email="reader@example.org")
    Digest.objects.create(
        user=reader, period_key="2026-11-29", status=Digest.Status.FAILED, last_error="550 no such user"
    )
    Digest.objects.create(user=reader, period_key="2026-11-30", status=Digest.Status.RETRY, last_error="421 busy")
    items = {item.key: item for item in attention_items(now=now)}
    assert items["failed-digests"].count == 1
    assert "550 no such user" in items["failed-digests"].examples[0].text
    client.force_login(CuratorFactory())
    html = client.get(reverse("admin:papers_attention")).content.decode()
    assert "Failed digests, last 7 days: 1" in html
