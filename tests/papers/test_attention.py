"""The admin's "Needs attention" page: drafts, untagged papers and failed imports, from the index.

Other apps add their own checks (failed digests: tests/subscriptions/test_attention.py).
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from papers.attention import attention_items
from papers.models import ImportRun, Paper
from tests.factories import CuratorFactory, PaperFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:papers_attention")


@pytest.fixture
def desk(now):
    tag = TagFactory(name="negation")
    PaperFactory(title="A draft to publish", status=Paper.Status.DRAFT, tags=[tag])
    PaperFactory(title="Published without a tag")
    PaperFactory(title="Published with a tag", tags=[tag])
    PaperFactory(title="Hidden without a tag", status=Paper.Status.HIDDEN)
    ImportRun.objects.create(status=ImportRun.Status.FAILED, file_name="bad.json", error="bad.json: invalid JSON")
    ImportRun.objects.create(status=ImportRun.Status.FAILED, file_name="old.json", created_at=now - timedelta(days=8))
    return now


def test_counts_of_each_check(desk):
    items = {item.key: item for item in attention_items(now=desk)}
    assert [items[k].count for k in ("drafts", "untagged", "failed-imports")] == [1, 1, 1]
    assert items["drafts"].examples[0].text == "A draft to publish"
    assert items["untagged"].examples[0].text == "Published without a tag"
    assert "invalid JSON" in items["failed-imports"].examples[0].text


def test_the_page_and_the_index_link_to_each_list(client, desk):
    client.force_login(CuratorFactory())
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{PAGE}"' in index and "Needs attention" in index
    assert "status__exact=draft" in index and "tags__isnull=True" in index
    html = client.get(PAGE).content.decode()
    for label in ("Drafts waiting: 1", "Published papers with no tag: 1", "Failed imports, last 7 days: 1"):
        assert label in html
    assert "style=" not in html and "<script>" not in html
    # Each link leads to a list that shows exactly those.
    untagged = client.get(reverse("admin:papers_paper_changelist") + "?status__exact=published&tags__isnull=True")
    assert [p.title for p in untagged.context["cl"].result_list] == ["Published without a tag"]


def test_readers_never_see_it(client, desk):
    client.force_login(UserFactory())
    assert client.get(PAGE).status_code == 302
