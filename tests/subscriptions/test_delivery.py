import math
import re
import smtplib
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers.models import Paper
from subscriptions import delivery, digests
from subscriptions.delivery import deliver_digests, mark_for_retry, subject_for
from subscriptions.digests import choose_items, pool_for_digests, share_pool
from subscriptions.models import DeliveryQuerySet, Digest, DigestItem
from subscriptions.scheduling import Schedule, dispatch_due_digests, request_digest
from subscriptions.tasks import send_digests
from tests.factories import (
    DigestFactory,
    DigestSettingsFactory,
    PaperFactory,
    TagFactory,
    TagFollowFactory,
    UpvoteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://paperhub.example"
    settings.DIGEST_UNSUBSCRIBE_MAILTO = "unsubscribe@paperhub.example"
    settings.DEFAULT_FROM_EMAIL = "paperhub <digest@paperhub.example>"


def make_reader(now, *, papers=3, tags=("negation", "sentiment-analysis"), tz="Europe/Berlin"):
    user = UserFactory()
    tag_objects = [TagFactory(slug=slug, name=slug) for slug in tags]
    for tag in tag_objects:
        TagFollowFactory(user=user, tag=tag)
    DigestSettingsFactory(user=user, timezone=tz, delivery_hour=8)
    for i in range(papers):
        PaperFactory(
            published_at=now - timedelta(days=1, hours=i),
            trending_week=float(10 - i),
            tags=[tag_objects[i % len(tag_objects)]],
            authors_text="Ada Lovelace, Alan Turing",
        )
    return user


def parsed(message):
    return message_from_bytes(message.message().as_bytes(), policy=default_policy)


def test_a_digest_is_sent_once_with_both_parts_headers_and_absolute_links(now):
    user = make_reader(now)
    [digest_id] = dispatch_due_digests(now=now, enqueue_tasks=False).created
    report = deliver_digests([digest_id], now=now)
    assert report.sent == [digest_id] and len(mail.outbox) == 1
    digest = Digest.objects.get(pk=digest_id)
    assert digest.status == Digest.Status.SENT and digest.sent_at == now and digest.attempts == 1
    # The sending lease runs on the wall clock even when `now` is pretended.
    assert abs(digest.sending_started_at - timezone.now()) < timedelta(minutes=1)
    message = parsed(mail.outbox[0])
    assert message["To"] == user.email
    # (the header is RFC 2047-encoded and folded: a mail client shows it without the leading space)
    assert message["Subject"].strip() == "Trending in #negation, #sentiment-analysis · Mon 30 Nov"
    assert message["Message-ID"] == digest.message_id
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "paperhub digest <digest.paperhub.example>"
    assert re.fullmatch(
        r"<https://paperhub\.example/unsubscribe/[^>]+/>, <mailto:unsubscribe@paperhub\.example\?subject=unsubscribe>",
        message["List-Unsubscribe"].strip(),
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for paper in Paper.objects.all():
        assert paper.title in text and paper.title in html
        assert f"https://paperhub.example{paper.get_absolute_url()}" in html
    assert "Ada Lovelace" in html and "Ada Lovelace" in text
    assert "New in #negation" in html and "Why: New in #negation" in text
    assert "You get this email because you follow tags" in text and "Unsubscribe" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(href.startswith("https://paperhub.example/") for href in hrefs)
    assert "<img" not in html and "<script" not in html
    assert DigestItem.objects.filter(digest=digest).count() == 3


def test_delivering_twice_sends_once(now):
    make_reader(now)
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    deliver_digests(ids, now=now)
    second = deliver_digests(ids, now=now)
    assert second.sent == [] and len(mail.outbox) == 1


def test_a_digest_claimed_by_another_worker_is_not_sent(now):
    make_reader(now)
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    Digest.objects.filter(pk__in=ids).update(status=Digest.Status.SENDING, sending_started_at=now)
    assert deliver_digests(ids, now=now).sent == [] and mail.outbox == []


def test_nothing_new_is_recorded_as_skipped_without_email(now):
    make_reader(now, papers=0)
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    report = deliver_digests(ids, now=now)
    assert report.skipped == ids and mail.outbox == []
    assert Digest.objects.get(pk=ids[0]).status == Digest.Status.SKIPPED


def test_the_next_days_digest_contains_none_of_yesterdays_papers(now):
    user = make_reader(now, papers=4, tags=("negation",))
    DigestSettingsFactory(user=user).__class__.objects.filter(user=user).update(papers_per_tag=2)
    first = dispatch_due_digests(now=now, enqueue_tasks=False).created
    deliver_digests(first, now=now)
    tomorrow = now + timedelta(days=1)
    second = dispatch_due_digests(now=tomorrow, enqueue_tasks=False).created
    deliver_digests(second, now=tomorrow)
    day1 = set(DigestItem.objects.filter(digest_id__in=first).values_list("paper_id", flat=True))
    day2 = set(DigestItem.objects.filter(digest_id__in=second).values_list("paper_id", flat=True))
    assert len(day1) == len(day2) == 2 and not day1 & day2


def test_a_reader_whose_address_is_no_longer_verified_is_skipped(now):
    user = make_reader(now)
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    user.emailaddress_set.update(verified=False)
    assert deliver_digests(ids, now=now).skipped == ids and mail.outbox == []


class FlakyBackend(EmailBackend):
    """locmem, but the first `failures` sends raise the given SMTP error."""

    failures = 0
    error: Exception = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise FlakyBackend.error
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.subscriptions.test_delivery.FlakyBackend"
    FlakyBackend.error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    yield FlakyBackend
    FlakyBackend.failures = 0


def test_a_temporary_smtp_error_puts_the_rest_of_the_chunk_back_to_retry(now, flaky):
    for _ in range(3):
        make_reader(now, tags=("negation",))
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    flaky.failures = 1
    report = deliver_digests(ids, now=now)
    assert report.retry == ids and "SMTPServerDisconnected" in report.error
    assert set(Digest.objects.values_list("status", flat=True)) == {Digest.Status.QUEUED}
    again = deliver_digests(report.retry, now=now)
    assert again.sent == ids and len(mail.outbox) == 3
    assert Digest.objects.get(pk=ids[0]).attempts == 2


def test_a_permanent_refusal_fails_that_digest_and_the_chunk_goes_on(now, flaky):
    make_reader(now, tags=("negation",))
    make_reader(now, tags=("negation",))
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    flaky.failures, flaky.error = 1, smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})
    report = deliver_digests(ids, now=now)
    assert report.failed == ids[:1] and report.sent == ids[1:]
    failed = Digest.objects.get(pk=ids[0])
    assert failed.status == Digest.Status.FAILED and "SMTPRecipientsRefused" in failed.last_error


def test_the_task_retries_then_leaves_the_rest_to_retry(now, flaky, settings):
    make_reader(now, tags=("negation",))
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    flaky.failures = 10
    send_digests.max_retries, previous = 0, send_digests.max_retries
    try:
        send_digests.apply(args=[ids])
    finally:
        send_digests.max_retries = previous
    digest = Digest.objects.get(pk=ids[0])
    assert digest.status == Digest.Status.RETRY and "SMTPServerDisconnected" in digest.last_error
    assert mark_for_retry(ids, error="again") == 0  # only queued digests are left to retry


def test_the_task_sends_a_chunk(now):
    make_reader(now)
    ids = dispatch_due_digests(now=now, enqueue_tasks=False).created
    assert send_digests.delay(ids).get() == {"sent": 1, "skipped": 0, "failed": 0}


def test_subject_names_two_tags_and_counts_the_rest(now):
    tags = [TagFactory(slug=slug) for slug in ("negation", "sentiment-analysis", "llm", "datasets")]
    items = [DigestItem(tag=tag) for tag in tags + tags[:1]]
    day = now.replace(day=30)
    assert subject_for(items, local_day=day) == "Trending in #negation, #sentiment-analysis +2 · Mon 30 Nov"


def test_the_subject_uses_the_readers_local_date(now):
    user = make_reader(now, tz="Asia/Tokyo")
    late = now.replace(hour=16)  # 01:00 on Tuesday 1 December in Tokyo
    digest = request_digest(user=user, now=late, enqueue_task=False).digest
    deliver_digests([digest.pk], now=late)
    assert mail.outbox[0].subject.endswith("· Tue 1 Dec")
    # The footer says when the next one comes, in the reader's timezone: this one was Tuesday's, sent early.
    assert "Next digest: Wed 2 Dec, 08:00 Asia/Tokyo." in mail.outbox[0].body
    assert "Next digest: Wed 2 Dec, 08:00 Asia/Tokyo." in mail.outbox[0].alternatives[0][0]


def inserts(rows: int) -> int:
    """How many INSERT statements bulk_create needs for `rows` digest items on this database (1 on PostgreSQL)."""
    fields = [f for f in DigestItem._meta.concrete_fields if not f.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [DigestItem()] * rows))


def _hundred_readers(now, *, tags=2):
    tag_objects = [TagFactory() for _ in range(tags)]
    for i in range(40):
        PaperFactory(
            published_at=now - timedelta(hours=i),
            trending_week=float(i),
            tags=[tag_objects[i % tags]],
            authors_text="Ada Lovelace",
        )
    for i in range(100):
        reader = UserFactory()
        for tag in tag_objects:
            TagFollowFactory(user=reader, tag=tag)
        DigestSettingsFactory(user=reader, papers_per_tag=3, personalization=0.5 if i % 2 else 0.0)
    return dispatch_due_digests(now=now, enqueue_tasks=False).created


def test_a_chunk_of_100_costs_one_query_per_email_with_the_dispatchs_pool(now, django_assert_max_num_queries):
    ids = _hundred_readers(now)
    assert len(ids) == 100
    pool = pool_for_digests(ids, now=now)
    # The digests with their readers' addresses and settings; follows, searches, sent papers and reactions;
    # the titles and vectors of the papers they reacted to (once per pool in a process);
    # one INSERT of the items (in a savepoint here; SQLite's parameter limit splits it in batches); one UPDATE
    # per email (marking the previous one sent and claiming it in one statement) and the last one's "sent".
    with django_assert_max_num_queries(1 + 4 + 1 + 2 + inserts(600) + 100 + 1):
        report = deliver_digests(ids, now=now, pool=pool)
    assert len(report.sent) == 100 and len(mail.outbox) == 100
    assert set(Digest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Digest.Status.SENT}
    assert set(Digest.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_without_a_pool_a_chunk_loads_its_own_candidates_in_a_few_more_queries(now, django_assert_max_num_queries):
    ids = _hundred_readers(now)
    with django_assert_max_num_queries(1 + 4 + 1 + 8 + 2 + inserts(600) + 100 + 1):
        report = deliver_digests(ids, now=now)
    assert len(report.sent) == 100


def test_the_chunks_of_a_dispatch_share_one_pool_and_render_each_paper_once(now, monkeypatch):
    ids = _hundred_readers(now)
    builds, renders = [], []
    real_build, real_render = digests.build_pool, delivery.paper_block
    monkeypatch.setattr(digests, "build_pool", lambda **kw: builds.append(kw) or real_build(**kw))
    monkeypatch.setattr(delivery, "paper_block", lambda **kw: renders.append(kw["title"]) or real_render(**kw))
    key = share_pool(pool_for_digests(ids, now=now))
    digests._POOLS.clear()  # each chunk reads the pool from the shared cache, as another worker would
    for chunk in (ids[:50], ids[50:]):
        report = deliver_digests(chunk, now=now + timedelta(minutes=1), pool_key=key)
        assert len(report.sent) == 50
        digests._POOLS.clear()
    assert len(builds) == 1  # the dispatch's; neither chunk loaded candidates
    chosen = set(DigestItem.objects.filter(digest_id__in=ids).values_list("paper__title", flat=True))
    assert sorted(renders) == sorted(chosen)  # each chosen paper's block rendered once for both chunks
    assert len(mail.outbox) == 100


def test_the_papers_readers_reacted_to_are_read_once_per_pool_in_a_process(now):
    ids = _hundred_readers(now)
    old = [PaperFactory(published_at=now - timedelta(days=60)) for _ in range(2)]
    for user_id in Digest.objects.filter(pk__in=ids).values_list("user_id", flat=True):
        for paper in old:
            UpvoteFactory(user_id=user_id, paper=paper)
    pool = pool_for_digests(ids, now=now)
    with CaptureQueriesContext(connection) as first:
        assert len(deliver_digests(ids[:50], now=now, pool=pool).sent) == 50
    with CaptureQueriesContext(connection) as second:
        assert len(deliver_digests(ids[50:], now=now, pool=pool).sent) == 50
    # The second chunk's readers reacted to the same papers: their titles and vectors are not read again.
    assert len(second) == len(first) - 1
    assert {pk: title for pk, (title, _) in pool.own.items()} == {paper.pk: paper.title for paper in old}


def test_a_chunk_chooses_what_the_reader_would_get_alone(now):
    ids = _hundred_readers(now)
    alone = {}
    for digest in Digest.objects.filter(pk__in=ids[:5]):
        alone[digest.pk] = [item.paper.pk for item in choose_items([digest.user_id], now=now)[digest.user_id]]
    deliver_digests(ids, now=now, pool=pool_for_digests(ids, now=now))
    for pk, papers in alone.items():
        assert list(DigestItem.objects.filter(digest_id=pk).order_by("rank").values_list("paper_id", flat=True)) == (
            papers
        )


def test_a_pooled_email_is_the_email_rendered_from_the_papers(now):
    ids = _hundred_readers(now)
    deliver_digests(ids[:1], now=now, pool=pool_for_digests(ids, now=now))
    pooled = mail.outbox[0]
    digest = Digest.objects.get(pk=ids[0])
    items = list(digest.items.select_related("paper", "tag").order_by("rank"))
    fresh = delivery.render_digest(
        digest=digest, items=items, to_email=pooled.to[0], schedule=Schedule.for_user(digest.user), now=now
    )
    assert pooled.body == fresh.body and pooled.alternatives == fresh.alternatives
    assert "Ada Lovelace" in pooled.body


class WatchingBackend(EmailBackend):
    """locmem that records, at each hand-over, which digests are `sending` and which are `sent`."""

    seen: list = []

    def send_messages(self, messages):
        for message in messages:
            states = dict(Digest.objects.values_list("message_id", "status"))
            WatchingBackend.seen.append((message.extra_headers["Message-ID"], states))
        return super().send_messages(messages)


def test_only_the_message_being_handed_to_smtp_is_ever_sending(now, settings):
    settings.EMAIL_BACKEND = "tests.subscriptions.test_delivery.WatchingBackend"
    WatchingBackend.seen = []
    ids = _hundred_readers(now)[:10]
    deliver_digests(ids, now=now, pool=pool_for_digests(ids, now=now))
    order = list(Digest.objects.filter(pk__in=ids).order_by("pk").values_list("message_id", flat=True))
    assert [message_id for message_id, _ in WatchingBackend.seen] == order
    for i, (message_id, states) in enumerate(WatchingBackend.seen):
        # A crash now would resend this one message (same Message-ID) and nothing already out.
        assert [m for m in order if states[m] == Digest.Status.SENDING] == [message_id]
        assert all(states[m] == Digest.Status.SENT for m in order[:i])
        assert all(states[m] == Digest.Status.QUEUED for m in order[i + 1 :])
    assert set(Digest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Digest.Status.SENT}


class SessionBackend(EmailBackend):
    """locmem that, like the SMTP backend, opens a session of its own in send_messages when none is open."""

    sessions = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connected = False

    def open(self):
        if self.connected:
            return False
        self.connected = True
        SessionBackend.sessions += 1
        return True

    def close(self):
        self.connected = False

    def send_messages(self, messages):
        new_session = self.open()
        try:
            return super().send_messages(messages)
        finally:
            if new_session:
                self.close()


def test_a_chunk_is_sent_over_one_smtp_session(now, settings):
    settings.EMAIL_BACKEND = "tests.subscriptions.test_delivery.SessionBackend"
    SessionBackend.sessions = 0
    ids = _hundred_readers(now)[:10]
    assert len(deliver_digests(ids, now=now, pool=pool_for_digests(ids, now=now)).sent) == 10
    assert SessionBackend.sessions == 1


def test_mark_sent_and_claim_is_one_conditional_update(now):
    sending = DigestFactory(status=Digest.Status.SENDING, attempts=1)
    queued = DigestFactory(status=Digest.Status.QUEUED)
    taken = DigestFactory(status=Digest.Status.SENDING, attempts=1)
    args = {"sent_at": now, "started_at": now, "subject": "Trending in #x", "message_id": "<m@x>"}
    assert Digest.objects.mark_sent_and_claim(sending.pk, claim_pk=queued.pk, **args) == (True, True)
    sending.refresh_from_db()
    queued.refresh_from_db()
    assert sending.status == Digest.Status.SENT and sending.sent_at == now and sending.attempts == 1
    assert queued.status == Digest.Status.SENDING and queued.attempts == 1 and queued.subject == "Trending in #x"
    assert queued.message_id == "<m@x>" and queued.sending_started_at == now
    # Neither step happens twice: the first is already sent, the next one is someone else's.
    assert Digest.objects.mark_sent_and_claim(sending.pk, claim_pk=taken.pk, **args) == (False, False)
    taken.refresh_from_db()
    assert taken.attempts == 1 and taken.message_id != "<m@x>"


@pytest.mark.django_db(transaction=True)
def test_a_database_error_when_recording_sent_falls_back_to_recording_it_alone(now, monkeypatch):
    ids = _hundred_readers(now)[:3]
    calls = []

    def away(self, *args, **kwargs):
        calls.append(args)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(DeliveryQuerySet, "mark_sent_and_claim", away)
    report = deliver_digests(ids, now=now)
    assert len(calls) == 2 and report.sent == ids and len(mail.outbox) == 3
    assert set(Digest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Digest.Status.SENT}


def test_an_error_before_the_next_claim_still_records_the_accepted_message_as_sent(now, monkeypatch):
    ids = _hundred_readers(now)[:3]
    real = delivery.render_digest
    rendered = []

    def render_then_fail(**kwargs):
        rendered.append(kwargs["digest"].pk)
        if len(rendered) == 2:
            raise RuntimeError("template broke")
        return real(**kwargs)

    monkeypatch.setattr(delivery, "render_digest", render_then_fail)
    with pytest.raises(RuntimeError):
        deliver_digests(ids, now=now)
    statuses = dict(Digest.objects.filter(pk__in=ids).values_list("pk", "status"))
    # The one message the SMTP server took is recorded, so no dispatch sends it again.
    assert len(mail.outbox) == 1 and statuses[ids[0]] == Digest.Status.SENT
    assert statuses[ids[1]] == statuses[ids[2]] == Digest.Status.QUEUED


def test_a_chunk_whose_pool_is_gone_or_lacks_a_tag_builds_its_own(now):
    ids = _hundred_readers(now)
    # The shared pool expired (or the cache is down): the chunk chooses from its own.
    assert len(deliver_digests(ids[:10], now=now, pool_key="paperhub:digest-pool:gone").sent) == 10
    # A reader followed a tag after the dispatch built its pool: that tag's papers are still candidates.
    pool = pool_for_digests(ids, now=now)
    late = TagFactory(slug="late")
    PaperFactory(published_at=now - timedelta(hours=1), trending_week=100.0, tags=[late], title="Late tag paper")
    digest = Digest.objects.get(pk=ids[10])
    TagFollowFactory(user=digest.user, tag=late)
    assert deliver_digests([digest.pk], now=now, pool=pool).sent == [digest.pk]
    assert "Late tag paper" in mail.outbox[-1].body


def test_previews_render_each_papers_block_once_per_generation(now, monkeypatch):
    from papers import pagecache

    reader = make_reader(now)
    renders = []
    real = delivery.paper_block

    def counting(**context):
        renders.append(context["title"])
        return real(**context)

    monkeypatch.setattr(delivery, "paper_block", counting)
    first = delivery.preview_items(user=reader, now=now)
    assert len(renders) == 3 and set(first.blocks) == {item.paper_id for item in first.items}
    # Another preview within RANKED_SECONDS (any reader's) reads the blocks from the shared cache.
    second = delivery.preview_items(user=reader, now=now + timedelta(minutes=1))
    assert len(renders) == 3 and second.blocks == first.blocks
    # A curator's change moves the generation: the blocks are rendered again, from the papers as they are now.
    paper = Paper.objects.get(pk=first.items[0].paper_id)
    paper.title = "A retitled paper"
    paper.save()
    pagecache.invalidate()
    third = delivery.preview_items(user=reader, now=now + timedelta(minutes=1))
    assert len(renders) == 6 and "A retitled paper" in third.blocks[paper.pk].html


def test_a_preview_is_the_email_rendered_from_the_papers(now):
    reader = make_reader(now)
    preview = delivery.preview_items(user=reader, now=now)
    parts = delivery.digest_parts(
        digest=preview.digest, items=preview.items, schedule=preview.schedule, now=now, blocks=preview.blocks
    )
    papers = Paper.objects.in_bulk([item.paper_id for item in preview.items])
    for item in preview.items:
        item.paper = papers[item.paper_id]
    fresh = delivery.render_digest(
        digest=preview.digest, items=preview.items, to_email=reader.email, schedule=preview.schedule, now=now
    )
    assert (parts.subject, parts.text, parts.html) == (fresh.subject, fresh.body, fresh.alternatives[0][0])
    assert "Ada Lovelace" in parts.html
    assert delivery.digest_parts(
        digest=preview.digest, items=preview.items, schedule=preview.schedule, now=now, text=False
    ) == parts._replace(text=None)


def test_a_preview_reads_the_readers_rows_itself_when_their_cached_data_predates_them(now):
    from subscriptions.slots import ReaderFollows, reader_follows

    reader = make_reader(now)
    cached = reader_follows(reader)
    assert {tag.slug for tag in cached.tags} == {"negation", "sentiment-analysis"} and cached.settings is not None
    # Cached before the rows were kept with it (a deploy): tags and searches are None, not "follows nothing".
    before = ReaderFollows(tag_ids=cached.tag_ids, searches=cached.searches, digests_on=cached.digests_on)
    preview = delivery.preview_items(user=reader, now=now, follows=before)
    assert len(preview.items) == 3 and preview.schedule.timezone_name == "Europe/Berlin"
