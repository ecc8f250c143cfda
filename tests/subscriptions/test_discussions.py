"""Following a paper's discussion and the daily email of its new comments (subscriptions/discussions.py)."""

import re
import smtplib
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from papers import comments
from papers.models import Comment, Paper
from subscriptions import discussions
from subscriptions.delivery import deliver_discussion_notices
from subscriptions.discussions import dispatch_discussion_notices, unseen_comments
from subscriptions.models import DigestSettings, DiscussionFollow, DiscussionNotice, DiscussionNoticeItem
from subscriptions.tasks import send_discussion_notices
from subscriptions.unsubscribe import SALT, discussion_unsubscribe_url
from tests.factories import DigestSettingsFactory, PaperFactory, UserFactory

from .test_delivery import FlakyBackend, flaky  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://paperhub.example"
    settings.DIGEST_UNSUBSCRIBE_MAILTO = ""
    settings.COMMENTS_NEED_APPROVAL = 0
    settings.COMMENT_RATE_LIMIT = "off"


@pytest.fixture
def paper():
    return PaperFactory(title="Negation in language models")


def comment(paper, user, body, at, **extra):
    return Comment.objects.create(paper=paper, user=user, body=body, created_at=at, **extra)


def follower(paper, at, **settings):
    user = UserFactory()
    DiscussionFollow.objects.create(user=user, paper=paper, created_at=at)
    if settings:
        DigestSettingsFactory(user=user, **settings)
    return user


def parsed(message):
    return message_from_bytes(message.message().as_bytes(), policy=default_policy)


def send(now):
    """Dispatch and deliver what is due at `now`, as beat and the worker would."""
    ids = dispatch_discussion_notices(now=now, enqueue_tasks=False).digest_ids
    return deliver_discussion_notices(ids, now=now)


# --- following -------------------------------------------------------------------


def test_the_discussion_has_a_follow_button_and_a_reader_follows_and_unfollows(client, paper):
    reader = UserFactory()
    discussion_url = reverse("papers:comments", args=[paper.pk])
    follow_url = reverse("subscriptions:follow_discussion", args=[paper.pk])
    html = client.get(discussion_url).content.decode()
    assert 'aria-pressed="false">Follow discussion</button>' in html
    # A visitor is asked to log in, and nothing is stored.
    response = client.post(follow_url, {"action": "follow"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not DiscussionFollow.objects.exists()

    client.force_login(reader)
    response = client.post(follow_url, {"action": "follow"})
    assert response.status_code == 302 and response["Location"].startswith(discussion_url)
    assert DiscussionFollow.objects.filter(user=reader, paper=paper).count() == 1
    client.post(follow_url, {"action": "follow"})  # twice: still one follow
    assert DiscussionFollow.objects.count() == 1
    assert 'aria-pressed="true">Unfollow discussion</button>' in client.get(discussion_url).content.decode()
    response = client.post(follow_url, {"action": "unfollow"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'aria-pressed="false">Follow discussion' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert not DiscussionFollow.objects.exists()


def test_only_published_papers_discussions_can_be_followed(client):
    client.force_login(UserFactory())
    draft = PaperFactory(status=Paper.Status.DRAFT)
    assert client.post(reverse("subscriptions:follow_discussion", args=[draft.pk])).status_code == 404
    assert client.get(reverse("subscriptions:follow_discussion", args=[draft.pk])).status_code == 405
    assert not DiscussionFollow.objects.exists()
    with pytest.raises(ValueError):
        discussions.follow_discussion(user=UserFactory(), paper=draft, now=draft.created_at)


def test_commenting_follows_the_discussion(client, paper, now):
    reader = UserFactory()
    client.force_login(reader)
    client.post(reverse("papers:comment_post", args=[paper.pk]), {"body": "Interesting"})
    follow = DiscussionFollow.objects.get(user=reader, paper=paper)
    assert follow.created_at == Comment.objects.get().created_at == now
    client.post(reverse("papers:comment_post", args=[paper.pk]), {"body": "Again"})
    assert DiscussionFollow.objects.count() == 1
    # A refused comment follows nothing.
    other = PaperFactory()
    client.post(reverse("papers:comment_post", args=[other.pk]), {"body": "   "})
    assert not DiscussionFollow.objects.filter(paper=other).exists()


def test_a_reader_who_turned_it_off_in_their_settings_does_not_follow_by_commenting(client, paper):
    reader = UserFactory()
    client.force_login(reader)
    settings_page = client.get(reverse("subscriptions:digest_settings")).content.decode()
    assert 'name="follow_on_comment"' in settings_page and "checked" in settings_page  # on by default
    form = {"frequency": "daily", "delivery_hour": "8", "timezone": "UTC", "papers_per_tag": "5"}
    client.post(reverse("subscriptions:digest_settings"), {**form, "personalization": "0.75"})  # box unticked
    assert DigestSettings.objects.get(user=reader).follow_on_comment is False
    client.post(reverse("papers:comment_post", args=[paper.pk]), {"body": "Interesting"})
    assert Comment.objects.filter(user=reader).exists() and not DiscussionFollow.objects.exists()
    # The button still follows; ticking the box again makes commenting follow again.
    client.post(
        reverse("subscriptions:digest_settings"), {**form, "personalization": "0.75", "follow_on_comment": "on"}
    )
    other = PaperFactory()
    client.post(reverse("papers:comment_post", args=[other.pk]), {"body": "Also interesting"})
    assert list(DiscussionFollow.objects.values_list("paper_id", flat=True)) == [other.pk]


def test_one_follow_per_reader_and_paper(paper):
    user = UserFactory()
    DiscussionFollow.objects.create(user=user, paper=paper)
    with pytest.raises(IntegrityError):
        DiscussionFollow.objects.create(user=user, paper=paper)


# --- choosing --------------------------------------------------------------------


def test_new_comments_are_visible_ones_by_others_since_the_follow(paper, now):
    reader = follower(paper, now - timedelta(days=2))
    other = UserFactory()
    comment(paper, other, "before the follow", now - timedelta(days=3))
    new = comment(paper, other, "new", now - timedelta(hours=3))
    comment(paper, reader, "my own", now - timedelta(hours=2))
    comment(paper, other, "waiting", now - timedelta(hours=2), status=Comment.Status.PENDING)
    comment(paper, other, "hidden", now - timedelta(hours=2), status=Comment.Status.HIDDEN)
    comment(paper, other, "too old", now - discussions.LOOKBACK - timedelta(hours=1))
    comment(PaperFactory(), other, "another paper", now - timedelta(hours=1))
    assert unseen_comments(now=now) == {reader.pk: [new.pk]}


def test_readers_without_a_verified_address_or_inactive_get_nothing(paper, now):
    unverified = follower(paper, now - timedelta(days=1))
    unverified.emailaddress_set.update(verified=False)
    inactive = follower(paper, now - timedelta(days=1))
    inactive.is_active = False
    inactive.save()
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    assert unseen_comments(now=now) == {}


def test_dispatch_waits_for_the_readers_hour_then_makes_one_notice_a_day(paper, now):
    # 09:00 UTC is 10:00 in Berlin: a reader with 11:00 waits, one with 10:00 is due.
    early = follower(paper, now - timedelta(days=1), timezone="Europe/Berlin", delivery_hour=10)
    late = follower(paper, now - timedelta(days=1), timezone="Europe/Berlin", delivery_hour=11)
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    first = dispatch_discussion_notices(now=now, enqueue_tasks=False)
    assert DiscussionNotice.objects.get().user == early
    assert first.created == [DiscussionNotice.objects.get().pk]
    assert DiscussionNotice.objects.get().day_key == "2026-11-30"
    # Dispatching again (any number of times, a comment more) creates nothing more for today.
    comment(paper, UserFactory(), "later", now + timedelta(minutes=10))
    assert dispatch_discussion_notices(now=now + timedelta(minutes=15), enqueue_tasks=False).created == []
    assert DiscussionNotice.objects.filter(user=early).count() == 1
    assert DiscussionNoticeItem.objects.count() == 1
    second = dispatch_discussion_notices(now=now + timedelta(hours=1), enqueue_tasks=False)
    assert [DiscussionNotice.objects.get(pk=pk).user for pk in second.created] == [late]
    assert DiscussionNoticeItem.objects.filter(notice__user=late).count() == 2


def test_one_notice_per_reader_and_day(paper):
    user = UserFactory()
    DiscussionNotice.objects.create(user=user, day_key="2026-11-30")
    with pytest.raises(IntegrityError):
        DiscussionNotice.objects.create(user=user, day_key="2026-11-30")


def test_a_comment_is_in_a_notice_once(paper):
    notice = DiscussionNotice.objects.create(user=UserFactory(), day_key="2026-11-30")
    c = comment(paper, UserFactory(), "x", paper.created_at)
    DiscussionNoticeItem.objects.create(notice=notice, comment=c)
    with pytest.raises(IntegrityError):
        DiscussionNoticeItem.objects.create(notice=notice, comment=c)


# --- sending ---------------------------------------------------------------------


def test_a_notice_is_mailed_once_with_headers_links_and_only_others_comments(paper, now):
    reader = follower(paper, now - timedelta(days=1))
    ada = UserFactory(username="ada")
    first = comment(paper, ada, "Does this hold for <b>Japanese</b>?", now - timedelta(hours=2))
    comment(paper, UserFactory(username="bob"), "It does.", now - timedelta(hours=1), parent=first)
    comment(paper, reader, "my own words", now - timedelta(minutes=30))
    report = send(now)
    notice = DiscussionNotice.objects.get()
    assert report.sent == [notice.pk] and len(mail.outbox) == 1
    assert notice.status == DiscussionNotice.Status.SENT and notice.attempts == 1
    message = parsed(mail.outbox[0])
    assert message["To"] == reader.email
    assert message["Subject"].strip() == "2 new comments on “Negation in language models” · Mon 30 Nov"
    # (a long header is folded: a mail client shows it without the leading space)
    assert message["Message-ID"].strip() == notice.message_id and "discussion" in notice.message_id
    assert message["List-Id"] == "paperhub discussions <discussions.paperhub.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https://paperhub\.example/unsubscribe/[^>]+/>", message["List-Unsubscribe"].strip())
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Does this hold for <b>Japanese</b>?" in text and "&lt;b&gt;Japanese&lt;/b&gt;" in html
    assert "bob replied" in text and "my own words" not in text + html
    assert f"https://paperhub.example/papers/{paper.pk}/comments/#comment-{first.pk}" in html
    assert all(href.startswith("https://paperhub.example/") for href in re.findall(r'href="([^"]+)"', html))
    # Delivering again, or dispatching again, sends nothing more.
    assert deliver_discussion_notices([notice.pk], now=now).sent == []
    assert send(now + timedelta(hours=2)).sent == [] and len(mail.outbox) == 1


def test_the_next_day_tells_only_what_is_new_including_comments_approved_since(paper, now):
    reader = follower(paper, now - timedelta(days=1))
    other = UserFactory()
    comment(paper, other, "day one", now - timedelta(hours=1))
    late = comment(paper, other, "approved late", now - timedelta(minutes=30), status=Comment.Status.PENDING)
    send(now)
    comments.restore_comments(comments=Comment.objects.filter(pk=late.pk))
    comment(paper, other, "day two", now + timedelta(hours=5))
    send(now + timedelta(days=1))
    assert len(mail.outbox) == 2
    second = mail.outbox[1].body
    assert "approved late" in second and "day two" in second and "day one" not in second
    assert DiscussionNotice.objects.filter(user=reader, status=DiscussionNotice.Status.SENT).count() == 2
    assert send(now + timedelta(days=2)).sent == []  # nothing new: no notice at all
    assert DiscussionNotice.objects.count() == 2


def test_comments_from_several_papers_make_one_email(now):
    papers = [PaperFactory(title=f"Paper {i}") for i in range(3)]
    reader = UserFactory()
    for p in papers:
        DiscussionFollow.objects.create(user=reader, paper=p, created_at=now - timedelta(days=1))
        comment(p, UserFactory(), f"On {p.title}", now - timedelta(hours=1))
    send(now)
    [message] = mail.outbox
    assert message.subject == "3 new comments on 3 papers you follow · Mon 30 Nov"
    assert message.body.count("Stop following this discussion:") == 3


def test_a_notice_whose_comments_were_hidden_meanwhile_is_skipped(paper, now):
    follower(paper, now - timedelta(days=1))
    c = comment(paper, UserFactory(), "spam", now - timedelta(hours=1))
    ids = dispatch_discussion_notices(now=now, enqueue_tasks=False).created
    comments.hide_comments(comments=Comment.objects.filter(pk=c.pk), reason="Spam")
    assert deliver_discussion_notices(ids, now=now).skipped == ids and mail.outbox == []
    assert DiscussionNotice.objects.get().status == DiscussionNotice.Status.SKIPPED


def test_a_temporary_smtp_error_leaves_it_queued_and_the_retry_sends_it_once(paper, now, flaky):  # noqa: F811
    follower(paper, now - timedelta(days=1))
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    ids = dispatch_discussion_notices(now=now, enqueue_tasks=False).created
    flaky.failures = 1
    report = deliver_discussion_notices(ids, now=now)
    assert report.retry == ids and DiscussionNotice.objects.get().status == DiscussionNotice.Status.QUEUED
    message_id = DiscussionNotice.objects.get().message_id
    assert deliver_discussion_notices(ids, now=now).sent == ids and len(mail.outbox) == 1
    notice = DiscussionNotice.objects.get()
    assert notice.attempts == 2 and notice.message_id == message_id


def test_a_permanent_refusal_fails_it_and_its_comments_come_the_next_day(paper, now, flaky):  # noqa: F811
    follower(paper, now - timedelta(days=1))
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    ids = dispatch_discussion_notices(now=now, enqueue_tasks=False).created
    flaky.failures, flaky.error = 1, smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})
    assert deliver_discussion_notices(ids, now=now).failed == ids
    assert DiscussionNotice.objects.get().status == DiscussionNotice.Status.FAILED
    send(now + timedelta(days=1))
    assert len(mail.outbox) == 1 and "hello" in mail.outbox[0].body


def test_a_notice_left_sending_by_a_dead_worker_is_sent_again_with_its_message_id(paper, now):
    follower(paper, now - timedelta(days=1))
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    [pk] = dispatch_discussion_notices(now=now, enqueue_tasks=False).created
    notice = DiscussionNotice.objects.get()
    assert DiscussionNotice.objects.claim(pk, started_at=now, subject="s", message_id=notice.message_id)
    # Within the lease nobody touches it; after it, the next dispatch queues it again.
    assert dispatch_discussion_notices(now=now + timedelta(minutes=5), enqueue_tasks=False).recovered == []
    later = now + timedelta(minutes=20)
    assert dispatch_discussion_notices(now=later, enqueue_tasks=False).recovered == [pk]
    deliver_discussion_notices([pk], now=later)
    assert parsed(mail.outbox[0])["Message-ID"].strip() == notice.message_id
    assert DiscussionNotice.objects.get().status == DiscussionNotice.Status.SENT


def test_the_tasks_dispatch_and_send(paper, now, django_capture_on_commit_callbacks):
    follower(paper, now - timedelta(days=1))
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    from subscriptions.tasks import dispatch_discussion_notices as dispatch_task

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_task.delay().get() == 1  # eager: the send task runs on commit
    assert len(mail.outbox) == 1
    assert send_discussion_notices.delay([DiscussionNotice.objects.get().pk]).get() == {
        "sent": 0,
        "skipped": 0,
        "failed": 0,
    }


def test_dispatch_costs_the_same_few_queries_for_many_readers(paper, now, django_assert_max_num_queries):
    for _ in range(30):
        follower(paper, now - timedelta(days=1))
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    with django_assert_max_num_queries(12):
        assert len(dispatch_discussion_notices(now=now, enqueue_tasks=False).created) == 30


def test_beat_dispatches_discussion_emails_every_15_minutes():
    task = PeriodicTask.objects.get(name="Dispatch discussion emails")
    assert task.task == "subscriptions.dispatch_discussion_notices" and task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")


# --- unsubscribe -----------------------------------------------------------------


def test_the_one_click_link_unfollows_the_discussions_in_the_email(paper, now):
    reader = follower(paper, now - timedelta(days=1))
    kept = PaperFactory(title="Kept")
    DiscussionFollow.objects.create(user=reader, paper=kept)
    comment(paper, UserFactory(), "hello", now - timedelta(hours=1))
    send(now)
    link = parsed(mail.outbox[0])["List-Unsubscribe"].strip()[1:-1]
    path = urlsplit(link).path
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(path).content.decode()
    assert "Stop following this discussion?" in page and "Negation in language models" in page
    assert DiscussionFollow.objects.filter(user=reader).count() == 2  # GET changes nothing
    response = strict.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You no longer follow this discussion" in response.content.decode()
    assert list(DiscussionFollow.objects.filter(user=reader).values_list("paper", flat=True)) == [kept.pk]
    assert strict.post(path).status_code == 200  # again: nothing left to do
    comment(paper, UserFactory(), "more", now + timedelta(hours=1))
    assert send(now + timedelta(days=1)).sent == []


@pytest.mark.parametrize("data", [{"u": 1, "d": []}, {"u": 1, "d": ["1"]}, {"u": 1, "d": 5}, {"u": 1, "d": [1] * 201}])
def test_a_malformed_discussion_token_gets_a_400_and_changes_nothing(client, paper, data):
    user = UserFactory()
    DiscussionFollow.objects.create(user=user, paper=paper)
    token = signing.dumps({**data, "u": user.pk}, salt=SALT)
    assert client.post(f"/unsubscribe/{token}/").status_code == 400
    tampered = urlsplit(discussion_unsubscribe_url(user_id=user.pk, paper_ids=[paper.pk])).path[:-3] + "xx/"
    assert client.post(tampered).status_code == 400
    assert DiscussionFollow.objects.count() == 1
