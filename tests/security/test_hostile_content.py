"""Hostile titles, abstracts, author names and URLs, imported like any paper, show as text everywhere."""

from datetime import timedelta
from io import StringIO
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from papers import paper_pages
from papers.models import Paper, Tag
from subscriptions.models import TagFollow
from tests.factories import StaffFactory, TagFactory, UserFactory
from tests.security import hostile
from tests.security.html import inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile_papers(tmp_path):
    """The corpus imported as curators import papers: `manage.py import_papers` on a JSON Lines file."""
    TagFactory(name="hostile", slug="hostile")
    source = tmp_path / "hostile.jsonl"
    source.write_text(hostile.jsonl())
    out = StringIO()
    call_command("import_papers", str(source), stdout=out)
    assert f"created {len(hostile.TITLES)}," in out.getvalue()
    papers = list(Paper.objects.filter(arxiv_id__startswith="2601.").order_by("arxiv_id"))
    assert len(papers) == len(hostile.TITLES)
    return papers


def assert_safe(html: str, *, expect_texts: list[str]) -> None:
    assert inline_code(html).problems() == []
    assert hostile.unsafe_links(html) == []
    text = hostile.page_text(html)
    for expected in expect_texts:
        assert hostile.squeeze(expected) in text


def test_the_importer_keeps_text_and_drops_non_http_urls(hostile_papers):
    for paper, record in zip(hostile_papers, hostile.records(), strict=True):
        assert paper.title == hostile.squeeze(record["title"])  # exactly as typed, only whitespace collapsed
        assert paper.abstract == hostile.squeeze(hostile.ABSTRACT)
        assert [a.author.name for a in paper.authorships.all()] == hostile.AUTHORS
        assert paper.code_url == "" and paper.pdf_url == ""
        assert paper.abs_url.startswith("https://arxiv.org/abs/")


def test_lists_show_hostile_titles_as_text(client, hostile_papers):
    reader = UserFactory()
    TagFollow.objects.create(user=reader, tag=Tag.objects.get(slug="hostile"))
    for paper in hostile_papers:
        client.force_login(reader)
        client.post(f"/papers/{paper.pk}/bookmark/")
    # PostgreSQL's text parser reads `<script>…</script>` as markup and indexes none of its words,
    # so the search looks for a word of the first title that stands outside the tags.
    search = "/search/?q=attention"
    for path in ["/", "/?period=all", "/tags/hostile/", search, "/for-you/", "/me/bookmarks/"]:
        html = client.get(path).content.decode()
        titles = hostile.TITLES if path != search else [hostile.TITLES[0]]
        assert_safe(html, expect_texts=titles)


def test_paper_pages_show_every_field_as_text(client, hostile_papers):
    for paper in hostile_papers:
        html = client.get(paper.get_absolute_url()).content.decode()
        assert_safe(html, expect_texts=[paper.title, hostile.ABSTRACT, *hostile.AUTHORS])
        # <title> and the description <meta> are escaped too: parsed, they give back the text.
        assert hostile.squeeze(paper.title) in hostile.page_text(html)


def test_a_stored_non_http_code_url_is_never_a_link(client, hostile_papers):
    """Even if a bad URL got into the database some other way, pages do not link it."""
    paper = hostile_papers[0]
    for bad in hostile.BAD_URLS:
        Paper.objects.filter(pk=paper.pk).update(code_url=bad, pdf_url=bad, abs_url=bad)
        # Visitors' pages are cached for a minute and paper pages stored: a raw UPDATE invalidates neither.
        cache.clear()
        paper_pages.forget([paper.pk])
        html = client.get(paper.get_absolute_url()).content.decode()
        assert hostile.unsafe_links(html) == [], bad
        assert inline_code(html).problems() == []
        assert ">Code</a>" not in html
    # The same page does link an http(s) code URL: the check above is not vacuous.
    Paper.objects.filter(pk=paper.pk).update(code_url="https://github.com/example/code")
    cache.clear()
    paper_pages.forget([paper.pk])
    assert 'href="https://github.com/example/code"' in client.get(paper.get_absolute_url()).content.decode()


def test_the_admin_shows_hostile_records_as_text(client, hostile_papers):
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:papers_paper_changelist")).content.decode()
    assert_safe(html, expect_texts=hostile.TITLES)
    for paper in hostile_papers:
        html = client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content.decode()
        assert inline_code(html).problems() == []
        assert hostile.unsafe_links(html) == []
        # In the form the title is an attribute or textarea value: parsed back, it is the exact text.
        values = hostile.page_attribute_values(html) + [hostile.page_text(html)]
        assert any(paper.title == v or paper.title in v for v in values)
    html = client.get(reverse("admin:papers_author_changelist")).content.decode()
    assert_safe(html, expect_texts=hostile.AUTHORS)


ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize("path", ["/feeds/trending/", "/tags/hostile/feed/"])
def test_feeds_carry_hostile_fields_as_text(client, hostile_papers, path):
    """Atom titles are text; a summary of type "html" is HTML to feed readers, so it must hold escaped text."""
    response = client.get(path)
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(hostile.TITLES)
    titles = set()
    for entry in entries:
        title = entry.find(f"{ATOM}title")
        assert title.get("type", "text") == "text"
        titles.add(title.text)
        summary = entry.find(f"{ATOM}summary")
        if summary.get("type") == "html":
            assert inline_code(summary.text).problems() == []
            assert hostile.unsafe_links(summary.text) == []
            assert hostile.page_text(summary.text) == hostile.squeeze(hostile.ABSTRACT)
            assert "<a " not in summary.text and "<iframe" not in summary.text
        else:
            assert summary.text == hostile.squeeze(hostile.ABSTRACT)
        author = entry.find(f"{ATOM}author/{ATOM}name")
        assert author.text == ", ".join(hostile.AUTHORS)
        for link in entry.findall(f"{ATOM}link"):
            assert link.get("href").startswith("http")
    assert titles == {hostile.squeeze(t) for t in hostile.TITLES}


def test_both_parts_of_the_digest_show_hostile_fields_as_text(client, hostile_papers, settings):
    """The HTML part escapes everything (its only inline code is its own style attributes); the text part is plain."""
    from django.core import mail
    from django.utils import timezone

    from subscriptions.delivery import deliver_digests
    from subscriptions.scheduling import dispatch_due_digests
    from tests.factories import DigestSettingsFactory, TagFollowFactory

    settings.SITE_URL = "https://paperhub.example"
    now = timezone.now()
    Paper.objects.filter(pk__in=[p.pk for p in hostile_papers]).update(
        published_at=now - timedelta(hours=3), created_at=now - timedelta(hours=3)
    )
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=Tag.objects.get(slug="hostile"))
    DigestSettingsFactory(user=reader, timezone="UTC", delivery_hour=now.hour, papers_per_tag=len(hostile.TITLES))
    # The preview (before sending: a sent paper is never offered again) is the same HTML, under the site's policy.
    client.force_login(reader)
    preview = client.get("/settings/digest/preview/")
    assert "'unsafe-inline'" not in preview["Content-Security-Policy"]
    found = inline_code(preview.content.decode())
    found.style_attributes.clear()
    assert found.problems() == []
    assert hostile.squeeze(hostile.TITLES[0]) in hostile.page_text(preview.content.decode())

    [digest_id] = dispatch_due_digests(now=now, enqueue_tasks=False).created
    assert deliver_digests([digest_id], now=now).sent == [digest_id]
    [message] = mail.outbox

    html = message.alternatives[0][0]
    found = inline_code(html)
    found.style_attributes.clear()  # email HTML carries its styles inline, as mail clients need
    assert found.problems() == []
    assert hostile.unsafe_links(html) == []
    assert all(link.startswith("https://paperhub.example/") for link in hostile.page_links(html))
    text = hostile.page_text(html)
    for title in hostile.TITLES:
        assert hostile.squeeze(title) in text
    assert ", ".join(hostile.AUTHORS)[:100] in text
    assert "<script>" not in html and "<img src=x" not in html and "<b onmouseover" not in html

    # text/plain is never interpreted: the same characters, unescaped.
    for title in hostile.TITLES:
        assert hostile.squeeze(title) in message.body
    assert "&lt;script&gt;" not in message.body and "&quot;" not in message.body  # no HTML escaping in plain text


def test_the_digest_admin_shows_hostile_items_as_text(client, hostile_papers):
    from subscriptions.models import Digest, DigestItem

    reader = UserFactory()
    digest = Digest.objects.create(user=reader, period_key="2026-11-30", subject=hostile.TITLES[0])
    for rank, paper in enumerate(hostile_papers, start=1):
        DigestItem.objects.create(digest=digest, paper=paper, rank=rank, reason=hostile.TITLES[1])
    client.force_login(StaffFactory())
    for url in [
        reverse("admin:subscriptions_digest_changelist"),
        reverse("admin:subscriptions_digest_change", args=[digest.pk]),
    ]:
        html = client.get(url).content.decode()
        assert inline_code(html).problems() == []
        assert hostile.unsafe_links(html) == []
        assert hostile.squeeze(hostile.TITLES[0]) in hostile.page_text(html) + " ".join(
            hostile.page_attribute_values(html)
        )


def test_the_admin_import_page_reports_hostile_entries_as_text(client, db, django_capture_on_commit_callbacks):
    """A curator uploads the corpus, plus lines whose error messages quote hostile values, through the admin."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    TagFactory(name="hostile", slug="hostile")
    bad_lines = "\n".join(
        [
            '{"title": "<img src=x onerror=alert(9)>", "arxiv_id": "<script>alert(10)</script>"}',
            '{"title": "x", "published": "<svg onload=alert(11)>"}',
        ]
    )
    client.force_login(StaffFactory())
    for upload, skip_invalid in [(hostile.jsonl() + bad_lines, "on"), (bad_lines, "")]:
        with django_capture_on_commit_callbacks(execute=True):  # the import task runs (eagerly) on commit
            queued = client.post(
                reverse("admin:papers_paper_import"),
                {"file": SimpleUploadedFile("hostile.jsonl", upload.encode()), "skip_invalid": skip_invalid},
            )
        response = client.get(queued.url)  # the import's own page
        assert response.status_code == 200
        html = response.content.decode()
        assert inline_code(html).problems() == []
        assert hostile.unsafe_links(html) == []
        assert "alert(10)" in hostile.page_text(html)  # the reason quotes the value, as text
    assert Paper.objects.filter(arxiv_id__startswith="2601.").count() == len(hostile.TITLES)


def test_comments_and_author_pages_show_hostile_text_as_text(client, hostile_papers):
    from papers.models import Comment

    paper = hostile_papers[0]
    body = "\n\n".join([*hostile.TITLES, hostile.ABSTRACT, *hostile.BAD_URLS, 'https://ok.example/a"onmouseover=x'])
    reader = UserFactory(username='<img src=x onerror=alert("name")>')
    Comment.objects.create(paper=paper, user=reader, body=body)
    Comment.objects.create(
        paper=paper,
        user=StaffFactory(),
        body="hidden",
        status=Comment.Status.HIDDEN,
        moderation_reason='<script>alert("reason")</script>',
    )
    client.force_login(reader)
    html = client.get(reverse("papers:comments", args=[paper.pk])).content.decode()
    assert_safe(
        html, expect_texts=[*hostile.TITLES, hostile.ABSTRACT, reader.username, '<script>alert("reason")</script>']
    )
    assert all(link == "https://ok.example/a" for link in hostile.page_links(html) if "ok.example" in link)
    author = paper.authorships.first().author
    html = client.get(author.get_absolute_url()).content.decode()
    assert_safe(html, expect_texts=[author.name])
