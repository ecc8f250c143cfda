"""A followed discussion over two days: followed through the pages (commenting, the button), mailed by a real
worker over a real SMTP server once a day and exactly once, unfollowed with the email's own one-click link."""

import re
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions.discussions import dispatch_discussion_notices
from subscriptions.models import DiscussionFollow, DiscussionNotice
from subscriptions.tasks import send_discussion_notices
from tests.factories import DigestSettingsFactory, PaperFactory, UserFactory

from .smtp import html_part, text_part
from .test_digests import SITE, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(start_worker, smtp_server, settings):
    settings.SITE_URL = SITE
    settings.COMMENTS_NEED_APPROVAL = 0
    settings.DIGEST_UNSUBSCRIBE_MAILTO = ""
    return lambda name="w1": start_worker(
        name=name,
        concurrency=2,
        extra_env={"EMAIL_URL": smtp_server.url, "SITE_URL": SITE, "DIGEST_RETRY_DELAY": "1"},
    )


def reader(name):
    """A reader due this UTC hour, logged in a browser of their own."""
    user = UserFactory(username=name)
    DigestSettingsFactory(user=user, timezone="UTC", delivery_hour=timezone.now().hour)
    browser = Client()
    browser.force_login(user)
    return user, browser


def say(browser, paper, body, parent=None):
    data = {"body": body, **({"parent": parent} if parent else {})}
    assert browser.post(reverse("papers:comment_post", args=[paper.pk]), data).status_code == 302


def settled():
    return not DiscussionNotice.objects.filter(status__in=["queued", "sending"]).exists()


def mailed(smtp_server, since=0):
    return Counter(message["To"] for message in smtp_server.messages()[since:])


def test_a_followed_discussion_is_mailed_once_a_day_exactly_once_until_unfollowed(worker, smtp_server):
    paper = PaperFactory(title="Negation in language models")
    ada, ada_browser = reader("ada")
    bob, bob_browser = reader("bob")
    cy, cy_browser = reader("cy")

    # Ada follows by commenting, Bob with the button; Cy writes the day's comment (and so follows too).
    say(ada_browser, paper, "Does this hold beyond English?")
    assert bob_browser.post(reverse("subscriptions:follow_discussion", args=[paper.pk]), {"action": "follow"})
    assert DiscussionFollow.objects.count() == 2
    say(cy_browser, paper, "It does for Japanese: https://example.org/ja")
    first = Client().get(reverse("papers:comments", args=[paper.pk])).content.decode()
    assert "Does this hold beyond English?" in first

    worker()
    now = timezone.now()
    day1 = dispatch_discussion_notices(now=now)
    dispatch_discussion_notices(now=now + timedelta(minutes=15))  # beat again: nothing more today
    send_discussion_notices.delay(day1.created)  # and a duplicated task
    wait_until(lambda: len(smtp_server.messages()) >= 2 and settled(), what="day one")
    time.sleep(2)  # give a duplicate time to (wrongly) arrive
    # Ada and Bob are told of Cy's comment (Ada's came before Bob followed); Cy of nothing (only their own
    # comment came after they followed).
    assert mailed(smtp_server) == Counter({ada.email: 1, bob.email: 1})
    by_reader = {message["To"]: message for message in smtp_server.messages()}
    for message in by_reader.values():
        assert "It does for Japanese" in text_part(message)
        assert "Does this hold beyond English?" not in text_part(message)
    for user, message in ((ada, by_reader[ada.email]), (bob, by_reader[bob.email])):
        notice = DiscussionNotice.objects.get(user=user)
        assert message["Message-ID"].strip() == notice.message_id and notice.status == "sent"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"].strip() == "paperhub discussions <discussions.paperhub.test>"
        for href in set(re.findall(r'href="([^"]+)"', html_part(message))):
            parts = urlsplit(href)
            assert f"{parts.scheme}://{parts.netloc}" == SITE
            assert Client().get(parts.path).status_code == 200, href

    # Day two: Ada replies to Cy, Cy answers; the SMTP server refuses the first attempt.
    cy_comment = paper.comments.get(body__startswith="It does")
    say(ada_browser, paper, "Thanks, that is what I hoped.", parent=cy_comment.pk)
    say(cy_browser, paper, "You are welcome.")
    smtp_server.refuse(1)
    day2 = dispatch_discussion_notices(now=now + timedelta(days=1))
    assert len(day2.created) == 3
    wait_until(lambda: len(smtp_server.messages()) >= 5 and settled(), timeout=90, what="day two")
    time.sleep(2)
    assert smtp_server.handler.refused == 1
    assert mailed(smtp_server, since=2) == Counter({ada.email: 1, bob.email: 1, cy.email: 1})
    day2_mail = {message["To"]: message for message in smtp_server.messages()[2:]}
    ada_text = text_part(day2_mail[ada.email])
    assert "You are welcome." in ada_text and "Thanks, that is what I hoped." not in ada_text
    assert "It does for Japanese" not in ada_text  # told yesterday
    assert "Thanks, that is what I hoped." in text_part(day2_mail[cy.email])
    bob_text = text_part(day2_mail[bob.email])
    assert "ada replied" in bob_text and "You are welcome." in bob_text

    # Bob's mail client uses the one-click link (RFC 8058: no cookies, no CSRF token).
    link = day2_mail[bob.email]["List-Unsubscribe"].strip()[1:-1]
    response = Client(enforce_csrf_checks=True).post(
        urlsplit(link).path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not DiscussionFollow.objects.filter(user=bob).exists()

    # Still day two: a new comment waits for day three; and then Bob, who unfollowed, gets nothing.
    say(cy_browser, paper, "One more thing.")
    assert dispatch_discussion_notices(now=now + timedelta(days=1, hours=2)).created == []
    dispatch_discussion_notices(now=now + timedelta(days=2))
    wait_until(lambda: len(smtp_server.messages()) >= 6 and settled(), what="day three")
    time.sleep(1.5)
    assert mailed(smtp_server, since=5) == Counter({ada.email: 1})
    assert DiscussionNotice.objects.filter(status="sent").count() == 6


def test_a_worker_killed_mid_chunk_still_mails_every_follower_exactly_once(worker, smtp_server):
    import signal

    from subscriptions.scheduling import SENDING_LEASE

    from .test_digests import _forget_unacked

    paper = PaperFactory(title="Negation in language models")
    followers = [reader(f"f{i}")[0] for i in range(12)]
    for user in followers:
        DiscussionFollow.objects.create(user=user, paper=paper)
    _, cy_browser = reader("cy")
    say(cy_browser, paper, "A comment for all twelve.")
    smtp_server.slow(0.4)
    first = worker("w1")
    now = timezone.now()
    assert len(dispatch_discussion_notices(now=now).created) == 12
    wait_until(lambda: smtp_server.handler.data_started >= 5, what="the 5th message to start")
    try:
        first.kill(signal.SIGKILL)
        worker("w2")
        assert 4 <= len(smtp_server.messages()) < 12
        # The notice that was `sending` when the worker died is recovered once its lease has expired.
        dispatch_discussion_notices(now=now + SENDING_LEASE + timedelta(minutes=1))
        wait_until(lambda: settled() and len(smtp_server.messages()) >= 12, timeout=90, what="all twelve")
        time.sleep(1.5)
        assert mailed(smtp_server) == Counter({user.email: 1 for user in followers})
        assert DiscussionNotice.objects.filter(status="sent").count() == 12
    finally:
        _forget_unacked()
