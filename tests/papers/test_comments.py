"""Comments: safe rendering, replies, editing window, deleting, reports, moderation, limits, counts on cards."""

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import IntegrityError
from django.urls import reverse

from papers import comments
from papers.attention import attention_items
from papers.models import Comment, CommentCount, CommentReport, Paper
from tests.factories import CuratorFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_approval(settings):
    settings.COMMENTS_NEED_APPROVAL = 0
    settings.COMMENT_RATE_LIMIT = "off"


@pytest.fixture
def paper():
    return PaperFactory(title="Negation in language models")


@pytest.fixture
def reader(client):
    user = UserFactory(username="ada")
    client.force_login(user)
    return user


def post(client, paper, body, **extra):
    return client.post(reverse("papers:comment_post", args=[paper.pk]), {"body": body, **extra})


def discussion_html(client, paper, query=""):
    return client.get(reverse("papers:comments", args=[paper.pk]) + query).content.decode()


def test_render_body_escapes_and_links_only_http_urls():
    html = comments.render_body(
        'See <script>alert(1)</script> https://example.org/a?b=1&c="2" and javascript:alert(1), '
        "ftp://x.org, http://x.org/p).\n\nSecond paragraph"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.org/a?b=1&amp;c=" rel="nofollow ugc noopener">' in html
    assert '<a href="http://x.org/p" rel="nofollow ugc noopener">http://x.org/p</a>).' in html
    assert 'href="javascript' not in html and 'href="ftp' not in html
    assert html.count("<p>") == 2


def test_reader_comments_and_replies_one_level_deep(client, reader, paper):
    response = post(client, paper, "First!")
    top = Comment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/comments/#comment-{top.pk}")
    post(client, paper, "A reply", parent=top.pk)
    reply = Comment.objects.get(parent=top)
    post(client, paper, "A reply to the reply", parent=reply.pk)
    assert Comment.objects.filter(parent=top).count() == 2  # joined the same thread
    html = discussion_html(client, paper)
    assert html.index("First!") < html.index("A reply") < html.index("A reply to the reply")
    assert "3 comments" in html


def test_visitors_read_but_are_asked_to_log_in_to_comment(client, paper):
    Comment.objects.create(paper=paper, user=UserFactory(), body="Visible to all")
    assert "Visible to all" in discussion_html(client, paper) and "Log in</a> to join" in discussion_html(client, paper)
    response = post(client, paper, "anonymous")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Comment.objects.count() == 1


def test_the_paper_page_loads_the_discussion_from_its_own_url(client, paper):
    html = client.get(paper.get_absolute_url()).content.decode()
    url = reverse("papers:comments", args=[paper.pk])
    assert f'hx-get="{url}" hx-trigger="load"' in html and f'<a href="{url}">' in html


def test_newest_or_oldest_first(client, reader, paper, now):
    Comment.objects.create(paper=paper, user=reader, body="older one", created_at=now - timedelta(hours=2))
    Comment.objects.create(paper=paper, user=reader, body="newer one", created_at=now - timedelta(hours=1))
    html = discussion_html(client, paper)
    assert html.index("older one") < html.index("newer one")
    html = discussion_html(client, paper, "?order=newest")
    assert html.index("newer one") < html.index("older one")


def test_bad_input_gets_a_message_and_a_400_and_stores_nothing(client, reader, paper, settings):
    settings.COMMENT_MAX_LENGTH = 20
    for body, message in [("   ", "Write something first"), ("x" * 21, "at most 20 characters")]:
        response = post(client, paper, body)
        assert response.status_code == 400 and message in response.content.decode()
    assert post(client, paper, "reply", parent="nonsense").status_code == 400
    assert post(client, paper, "reply", parent=999999).status_code == 400
    draft = PaperFactory(status=Paper.Status.DRAFT)
    assert post(client, draft, "hi").status_code == 404
    assert not Comment.objects.exists()


def test_htmx_gets_the_section_back_even_for_refused_input(client, reader, paper):
    response = client.post(
        reverse("papers:comment_post", args=[paper.pk]), {"body": ""}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="comments"')
    assert "Write something first" in html


def test_edit_within_the_window_only_and_only_ones_own(client, reader, paper, time_machine, now):
    comment = Comment.objects.create(paper=paper, user=reader, body="typo", created_at=now)
    url = reverse("papers:comment_edit", args=[comment.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"body": "fixed"})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.body == "fixed" and comment.edited_at == now
    time_machine.move_to(now + timedelta(minutes=16))
    response = client.post(url, {"body": "too late"})
    assert response.status_code == 400 and "15 minutes" in response.content.decode()
    assert Comment.objects.get().body == "fixed"
    client.force_login(UserFactory())
    assert client.post(url, {"body": "not mine"}).status_code == 403
    assert Comment.objects.get().body == "fixed"


def test_delete_own_keeps_a_placeholder_only_where_replies_hang(client, reader, paper):
    alone = Comment.objects.create(paper=paper, user=reader, body="alone")
    answered = Comment.objects.create(paper=paper, user=reader, body="answered")
    Comment.objects.create(paper=paper, user=UserFactory(), body="the answer", parent=answered)
    client.post(reverse("papers:comment_delete", args=[alone.pk]))
    client.post(reverse("papers:comment_delete", args=[answered.pk]))
    html = discussion_html(client, paper)
    assert "alone" not in html and ">answered<" not in html
    assert html.count("Its author deleted this comment.") == 1 and "the answer" in html
    # Someone else's: refused.
    other = Comment.objects.create(paper=paper, user=UserFactory(), body="theirs")
    assert client.post(reverse("papers:comment_delete", args=[other.pk])).status_code == 403
    assert Comment.objects.get(pk=other.pk).status == Comment.Status.VISIBLE


def test_first_comments_of_a_new_reader_wait_for_approval(client, reader, paper, settings):
    settings.COMMENTS_NEED_APPROVAL = 1
    post(client, paper, "my first")
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    assert "Waiting for approval" in discussion_html(client, paper)
    client.logout()
    assert "my first" not in discussion_html(client, paper)
    comments.restore_comments(comments=Comment.objects.all())
    assert "my first" in discussion_html(client, paper)
    client.force_login(reader)
    post(client, paper, "my second")
    assert Comment.objects.get(body="my second").status == Comment.Status.VISIBLE


def test_one_report_per_reader_and_reported_comments_need_attention(client, reader, paper, now):
    comment = Comment.objects.create(paper=paper, user=UserFactory(), body="spam spam")
    url = reverse("papers:comment_report", args=[comment.pk])
    client.post(url, {"reason": "spam"})
    client.post(url, {"reason": "spam again"})
    assert CommentReport.objects.count() == 1
    [item] = [i for i in attention_items(now=now) if i.key == "reported-comments"]
    assert item.count == 1 and "spam spam" in item.examples[0].text
    own = Comment.objects.create(paper=paper, user=reader, body="mine")
    assert client.post(reverse("papers:comment_report", args=[own.pk])).status_code == 400


def test_one_report_per_reader_constraint(paper):
    comment = Comment.objects.create(paper=paper, user=UserFactory(), body="x")
    user = UserFactory()
    CommentReport.objects.create(comment=comment, user=user)
    with pytest.raises(IntegrityError):
        CommentReport.objects.create(comment=comment, user=user)


def test_a_comment_is_never_its_own_parent(paper):
    comment = Comment.objects.create(paper=paper, user=UserFactory(), body="x")
    with pytest.raises(IntegrityError):
        Comment.objects.filter(pk=comment.pk).update(parent=comment.pk)


def test_curator_hides_with_a_reason_and_restores_and_a_reader_cannot(client, paper):
    comment = Comment.objects.create(paper=paper, user=UserFactory(), body="rude words")
    CommentReport.objects.create(comment=comment, user=UserFactory())
    changelist = reverse("admin:papers_comment_changelist")
    data = {"action": "hide", ACTION_CHECKBOX_NAME: [comment.pk], "apply": "yes", "reason": "Personal attack"}

    client.force_login(UserFactory())
    client.post(changelist, data)
    assert Comment.objects.get().status == Comment.Status.VISIBLE

    client.force_login(CuratorFactory())
    assert client.get(changelist).status_code == 200
    page = client.post(changelist, {**data, "reason": ""})
    assert "Why they are hidden" in page.content.decode() and 'value="hide"' in page.content.decode()
    assert Comment.objects.get().status == Comment.Status.VISIBLE
    client.post(changelist, data)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN and comment.moderation_reason == "Personal attack"
    assert not CommentReport.objects.filter(resolved=False).exists()
    html = discussion_html(client, paper)
    assert "Hidden by a curator: Personal attack" in html and "rude words" not in html

    client.post(changelist, {"action": "restore", ACTION_CHECKBOX_NAME: [comment.pk]})
    assert Comment.objects.get().status == Comment.Status.VISIBLE


def test_counts_on_cards_are_visible_comments_only(client, reader, paper):
    card_link = reverse("papers:comments", args=[paper.pk])
    post(client, paper, "a")
    post(client, paper, "b")
    post(client, paper, "c")
    html = client.get("/?period=all").content.decode()
    assert f'<a href="{card_link}">3 comments</a>' in html
    comments.hide_comments(comments=Comment.objects.filter(body="c"), reason="Off topic")
    client.post(reverse("papers:comment_delete", args=[Comment.objects.get(body="b").pk]))
    html = client.get("/?period=all").content.decode()
    assert f'<a href="{card_link}">1 comment</a>' in html
    comments.restore_comments(comments=Comment.objects.filter(body="c"))
    assert CommentCount.objects.get(paper=paper).visible == 2


def test_discussion_costs_a_constant_number_of_queries(client, reader, paper, django_assert_max_num_queries):
    for n in range(10):
        top = Comment.objects.create(paper=paper, user=UserFactory(), body=f"top {n}")
        Comment.objects.create(paper=paper, user=UserFactory(), body=f"reply {n}", parent=top)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("papers:comments", args=[paper.pk])).status_code == 200


def test_comment_rate_limit_answers_429(client, reader, paper, settings):
    settings.COMMENT_RATE_LIMIT = "2/h"
    assert post(client, paper, "one").status_code == 302
    assert post(client, paper, "two").status_code == 302
    assert post(client, paper, "three").status_code == 429
    assert Comment.objects.count() == 2


def test_the_comment_429_says_when_the_comment_budget_comes_back_not_the_reactions_one(
    client, reader, paper, settings, time_machine, now
):
    settings.COMMENT_RATE_LIMIT = "1/h"
    settings.READER_RATE_LIMIT = "1/m"
    # django-ratelimit's windows start at an offset per key (crc32 of the reader's id): stand where the
    # reader's hourly comment window has exactly 30 minutes left (the reaction window has under a minute).
    offset = zlib.crc32(str(reader.pk).encode()) % 3600
    hour = int(now.timestamp()) - int(now.timestamp()) % 3600
    time_machine.move_to(datetime.fromtimestamp(hour + (offset + 1800) % 3600, UTC), tick=False)
    # The reaction budget is spent too (its window ends within a minute): it must not answer for comments.
    client.post(reverse("papers:upvote", args=[paper.pk]))
    assert client.post(reverse("papers:upvote", args=[paper.pk])).status_code == 429
    assert post(client, paper, "one").status_code == 302
    response = post(client, paper, "two")
    assert response.status_code == 429
    assert response["Retry-After"] == "1800"
    htmx = client.post(
        reverse("papers:comment_post", args=[paper.pk]), {"body": "three"}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 429 and htmx["Retry-After"] == "1800"
    assert Comment.objects.count() == 1


def test_reported_comments_link_to_a_named_order_most_reported_then_oldest(client, paper, now):
    once_old = Comment.objects.create(
        paper=paper, user=UserFactory(), body="once old", created_at=now - timedelta(days=2)
    )
    twice = Comment.objects.create(paper=paper, user=UserFactory(), body="twice", created_at=now - timedelta(hours=1))
    once_new = Comment.objects.create(paper=paper, user=UserFactory(), body="once new", created_at=now)
    Comment.objects.create(paper=paper, user=UserFactory(), body="never reported", created_at=now)
    for comment, reporters in [(once_old, 1), (twice, 2), (once_new, 1)]:
        for _ in range(reporters):
            CommentReport.objects.create(comment=comment, user=UserFactory())
    [item] = [i for i in attention_items(now=now) if i.key == "reported-comments"]
    assert item.url.endswith("?reports=open") and "o=" not in item.url
    assert [e.text.split(": ", 1)[1] for e in item.examples] == ["twice", "once old", "once new"]
    client.force_login(CuratorFactory())
    html = client.get(item.url).content.decode()
    assert html.index("twice") < html.index("once old") < html.index("once new")
    assert "never reported" not in html
    # A curator's click on a column still sorts by it.
    html = client.get(item.url + "&o=-6").content.decode()  # newest first
    assert html.index("once new") < html.index("once old")
