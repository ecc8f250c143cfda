"""Readers submit papers by arXiv id: parsing, the fetch task against a local arXiv, quota, review, emails."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.core import mail
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from paperhub.celery import app as celery_app
from papers import submissions
from papers.attention import attention_items
from papers.models import Paper, Submission, TrustedReader, Upvote
from papers.submissions import SubmissionRefused, parse_arxiv_id
from papers.tasks import SUBMISSION_RETRIES, retry_waiting_submissions
from tests.factories import CuratorFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

OLD_STYLE = "arxiv_atom_old_style_handwritten.xml"  # one entry: cs/0503050v1


@pytest.mark.parametrize(
    "text",
    [
        "2406.01234",
        "2406.01234v2",
        " arXiv:2406.01234 ",
        "arxiv.org/abs/2406.01234",
        "https://arxiv.org/abs/2406.01234v3",
        "http://www.arxiv.org/pdf/2406.01234v1",
        "https://export.arxiv.org/abs/2406.01234",
        "https://arxiv.org/pdf/2406.01234.pdf",
    ],
)
def test_every_form_of_a_new_style_id(text):
    assert parse_arxiv_id(text) == "2406.01234"


@pytest.mark.parametrize("text", ["hep-th/9901001", "hep-th/9901001v2", "https://arxiv.org/abs/hep-th/9901001"])
def test_old_style_ids(text):
    assert parse_arxiv_id(text) == "hep-th/9901001"


@pytest.mark.parametrize("text", ["", "hello", "https://example.org/abs/2406.01234", "2406", "javascript:alert(1)"])
def test_anything_else_is_refused_with_a_message(text):
    with pytest.raises(SubmissionRefused, match="not an arXiv id"):
        parse_arxiv_id(text)


@pytest.fixture
def reader_client(client):
    reader = UserFactory()
    client.force_login(reader)
    client.reader = reader
    return client


@pytest.fixture
def arxiv(arxiv_server, data_dir):
    arxiv_server.sample = (data_dir / OLD_STYLE).read_bytes()
    return arxiv_server


def submit(client, text, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("papers:submit"), {"arxiv": text})


def test_submission_is_fetched_and_waits_for_review_as_a_draft_credited_to_the_reader(
    reader_client, arxiv, django_capture_on_commit_callbacks
):
    arxiv.queue((200, arxiv.sample))
    response = submit(reader_client, "https://arxiv.org/abs/cs/0503050v1", django_capture_on_commit_callbacks)
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == submission.get_absolute_url()
    assert submission.status == Submission.Status.REVIEW
    paper = submission.paper
    assert paper.arxiv_id == "cs/0503050" and paper.status == Paper.Status.DRAFT
    assert paper.submitted_by == reader_client.reader
    html = reader_client.get(submission.get_absolute_url()).content.decode()
    assert "waiting for a curator" in html and "hx-trigger" not in html
    # The paper is not visible to other readers yet.
    assert reader_client.get(paper.get_absolute_url()).status_code == 404


def test_status_page_polls_while_fetching_and_its_partial_answers_htmx(reader_client):
    submission = Submission.objects.create(user=reader_client.reader, arxiv_id="2406.01234")
    html = reader_client.get(submission.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in html and "Fetching the paper" in html
    partial = reader_client.get(submission.get_absolute_url(), headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="submission-status"') and "<html" not in partial


def test_another_readers_submission_is_not_theirs_to_see(client):
    submission = Submission.objects.create(user=UserFactory(), arxiv_id="2406.01234")
    client.force_login(UserFactory())
    assert client.get(submission.get_absolute_url()).status_code == 404
    client.logout()
    assert client.get(submission.get_absolute_url()).status_code == 302  # to log in


def test_visitors_are_sent_to_log_in(client):
    response = client.post(reverse("papers:submit"), {"arxiv": "2406.01234"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Submission.objects.exists()


def test_already_here_sends_the_reader_to_the_paper_and_counts_their_upvote(
    reader_client, django_capture_on_commit_callbacks
):
    paper = PaperFactory(arxiv_id="2406.01234")
    response = submit(reader_client, "2406.01234v2", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == paper.get_absolute_url()
    assert Upvote.objects.filter(user=reader_client.reader, paper=paper).count() == 1
    paper.refresh_from_db()
    assert paper.upvote_count == 1
    # Again: the same submission, still one upvote.
    submit(reader_client, "arxiv.org/abs/2406.01234", django_capture_on_commit_callbacks)
    assert Submission.objects.count() == 1 and Upvote.objects.count() == 1


def test_duplicate_submissions_collapse(reader_client, arxiv, django_capture_on_commit_callbacks):
    arxiv.queue((200, arxiv.sample))
    submit(reader_client, "cs/0503050", django_capture_on_commit_callbacks)
    submit(reader_client, "cs/0503050v1", django_capture_on_commit_callbacks)
    assert Submission.objects.count() == 1 and len(arxiv.requests) == 1
    # A second reader's submission of the same paper joins the same draft in the queue, without fetching.
    reader_client.force_login(UserFactory())
    submit(reader_client, "https://arxiv.org/abs/cs/0503050", django_capture_on_commit_callbacks)
    assert Paper.objects.count() == 1 and len(arxiv.requests) == 1
    assert set(Submission.objects.values_list("status", "paper__arxiv_id")) == {("review", "cs/0503050")}


def test_one_submission_per_reader_and_id():
    reader = UserFactory()
    Submission.objects.create(user=reader, arxiv_id="2406.01234")
    with pytest.raises(IntegrityError):
        Submission.objects.create(user=reader, arxiv_id="2406.01234")


def test_not_found_and_withdrawn_give_clear_messages(reader_client, arxiv, django_capture_on_commit_callbacks):
    submit(reader_client, "2406.99999", django_capture_on_commit_callbacks)  # the default answer is empty
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.NOT_FOUND
    assert (
        "arXiv has no paper with the id 2406.99999" in reader_client.get(submission.get_absolute_url()).content.decode()
    )

    withdrawn = arxiv.sample.replace(b">12 pages<", b">This paper has been withdrawn by the author<")
    arxiv.queue((200, withdrawn))
    submit(reader_client, "cs/0503050", django_capture_on_commit_callbacks)
    submission = Submission.objects.get(arxiv_id="cs/0503050")
    assert submission.status == Submission.Status.WITHDRAWN
    assert "withdrawn on arXiv" in reader_client.get(submission.get_absolute_url()).content.decode()
    assert not Paper.objects.exists()


def test_bad_input_is_a_400_with_a_message_and_changes_nothing(reader_client):
    response = reader_client.post(reverse("papers:submit"), {"arxiv": "not an id <b>"})
    assert response.status_code == 400
    assert "That is not an arXiv id" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Submission.objects.exists()


def test_daily_quota(reader_client, settings, now, django_capture_on_commit_callbacks):
    settings.SUBMISSIONS_PER_DAY = 2
    for n in range(2):
        Submission.objects.create(user=reader_client.reader, arxiv_id=f"2406.0000{n}", created_at=now)
    response = reader_client.post(reverse("papers:submit"), {"arxiv": "2406.01234"})
    assert response.status_code == 400 and "You can submit 2 papers a day" in response.content.decode()
    assert Submission.objects.count() == 2
    Submission.objects.update(created_at=now - timedelta(days=1, seconds=1))
    with django_capture_on_commit_callbacks(execute=False):
        assert reader_client.post(reverse("papers:submit"), {"arxiv": "2406.01234"}).status_code == 302


@pytest.fixture
def retrying():
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = propagates


def test_arxiv_down_leaves_it_waiting_retried_with_backoff_then_swept(
    reader_client, arxiv, retrying, django_capture_on_commit_callbacks, time_machine
):
    arxiv.default = (503, b"Service Unavailable")
    submit(reader_client, "cs/0503050", django_capture_on_commit_callbacks)
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.WAITING
    assert submission.attempts == SUBMISSION_RETRIES + 1 and "503" in submission.error
    assert "arXiv is not answering" in reader_client.get(submission.get_absolute_url()).content.decode()

    # arXiv is back; the hourly sweep picks up what waited more than 15 minutes.
    arxiv.default = (200, arxiv.sample)
    assert retry_waiting_submissions.delay().get() == 0
    time_machine.move_to(submission.updated_at + timedelta(minutes=16))
    assert retry_waiting_submissions.delay().get() == 1
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REVIEW and submission.paper.arxiv_id == "cs/0503050"


def test_the_sweep_is_scheduled_hourly():
    task = PeriodicTask.objects.get(name="Retry waiting submissions")
    assert task.task == "papers.retry_waiting_submissions" and task.interval.every == 1


def test_trusted_readers_publish_directly(reader_client, arxiv, django_capture_on_commit_callbacks):
    reader_client.reader.groups.add(Group.objects.get(name="Trusted readers"))
    arxiv.queue((200, arxiv.sample))
    submit(reader_client, "cs/0503050", django_capture_on_commit_callbacks)
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.PUBLISHED and submission.paper.is_published


def test_a_reader_a_curator_flagged_as_trusted_publishes_directly(
    client, reader_client, arxiv, django_capture_on_commit_callbacks
):
    reader = reader_client.reader
    assert not submissions.is_trusted(reader)
    curator = CuratorFactory()
    curator_client = Client()
    curator_client.force_login(curator)
    add = reverse("admin:papers_trustedreader_add")
    assert curator_client.get(add).status_code == 200
    response = curator_client.post(add, {"user": reader.pk, "note": "Submits good papers"})
    assert response.status_code == 302
    flag = TrustedReader.objects.get()
    assert flag.user == reader and flag.trusted_by == curator and submissions.is_trusted(reader)
    arxiv.queue((200, arxiv.sample))
    submit(reader_client, "cs/0503050", django_capture_on_commit_callbacks)
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.PUBLISHED and submission.paper.is_published


def test_only_curators_set_the_trusted_flag(client):
    reader = UserFactory()
    client.force_login(UserFactory())
    assert client.post(reverse("admin:papers_trustedreader_add"), {"user": reader.pk}).status_code == 302  # to login
    client.force_login(UserFactory(is_staff=True))  # staff without the curators' permissions
    assert client.post(reverse("admin:papers_trustedreader_add"), {"user": reader.pk}).status_code == 403
    assert not TrustedReader.objects.exists() and not submissions.is_trusted(reader)


def test_one_trusted_flag_per_reader():
    reader = UserFactory()
    TrustedReader.objects.create(user=reader)
    with pytest.raises(IntegrityError):
        TrustedReader.objects.create(user=reader)


def test_curators_trust_submitters_from_the_queue_and_readers_cannot(client, now):
    submission = _review(UserFactory())
    changelist = reverse("admin:papers_submission_changelist")
    data = {"action": "trust_submitters", ACTION_CHECKBOX_NAME: [submission.pk]}
    client.force_login(UserFactory())
    client.post(changelist, data)
    assert not TrustedReader.objects.exists()
    client.force_login(CuratorFactory())
    response = client.post(changelist, data, follow=True)
    assert "1 reader(s) are now trusted readers" in response.content.decode()
    client.post(changelist, data)  # twice: still one flag
    assert list(TrustedReader.objects.values_list("user", flat=True)) == [submission.user_id]


def _review(user, arxiv_id="2406.01234"):
    paper = PaperFactory(arxiv_id=arxiv_id, status=Paper.Status.DRAFT, submitted_by=user)
    return Submission.objects.create(user=user, arxiv_id=arxiv_id, status=Submission.Status.REVIEW, paper=paper)


def test_curator_publishes_from_the_queue_and_the_submitter_is_mailed(client, django_capture_on_commit_callbacks):
    submission = _review(UserFactory(email="ada@example.org"))
    client.force_login(CuratorFactory())
    changelist = reverse("admin:papers_submission_changelist")
    assert "arXiv:2406.01234" in client.get(reverse("admin:papers_attention")).content.decode()
    assert client.get(changelist + "?status__exact=review").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "publish", ACTION_CHECKBOX_NAME: [submission.pk]}, follow=True)
    assert "1 paper(s) published" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PUBLISHED and submission.paper.is_published
    [email] = mail.outbox
    assert email.to == ["ada@example.org"] and email.subject.startswith("Published on paperhub")
    assert submission.paper.get_absolute_url() in email.body
    assert submission.paper.get_absolute_url() in email.alternatives[0][0]


def test_curator_rejects_with_a_reason_and_the_submitter_is_mailed(client, django_capture_on_commit_callbacks):
    submission = _review(UserFactory(email="ada@example.org"))
    client.force_login(CuratorFactory())
    changelist = reverse("admin:papers_submission_changelist")
    data = {"action": "reject", ACTION_CHECKBOX_NAME: [submission.pk]}
    page = client.post(changelist, data)
    assert page.status_code == 200 and "Why they are rejected" in page.content.decode()
    client.post(changelist, {**data, "apply": "yes", "reason": ""})
    assert Submission.objects.get().status == Submission.Status.REVIEW  # no reason, nothing done
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {**data, "apply": "yes", "reason": "Out of scope <for us>"})
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REJECTED and submission.reason == "Out of scope <for us>"
    assert submission.paper.status == Paper.Status.HIDDEN
    [email] = mail.outbox
    assert "Out of scope <for us>" in email.body and "Out of scope &lt;for us&gt;" in email.alternatives[0][0]


def test_readers_cannot_moderate(client):
    submission = _review(UserFactory())
    client.force_login(UserFactory())
    changelist = reverse("admin:papers_submission_changelist")
    client.post(changelist, {"action": "publish", ACTION_CHECKBOX_NAME: [submission.pk]})
    assert Submission.objects.get().status == Submission.Status.REVIEW
    with pytest.raises(ValueError):
        submissions.reject(papers=Paper.objects.all(), reason=" ", now=submission.created_at)


def test_attention_lists_submissions_waiting(now):
    _review(UserFactory())
    [item] = [i for i in attention_items(now=now) if i.key == "submissions"]
    assert item.count == 1
