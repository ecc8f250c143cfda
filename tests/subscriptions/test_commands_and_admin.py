from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from subscriptions.models import Digest, DigestSettings
from tests.factories import (
    DigestFactory,
    DigestItemFactory,
    PaperFactory,
    StaffFactory,
    TagFactory,
    TagFollowFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
NOW = "2026-11-30T09:00:00+00:00"


@pytest.fixture
def readers(now):
    tag = TagFactory(slug="negation")
    PaperFactory(title="Negation paper", tags=[tag], published_at=now - timedelta(days=1))
    users = [UserFactory(), UserFactory()]
    for user in users:
        TagFollowFactory(user=user, tag=tag)
    return users


def run(*args):
    out = StringIO()
    call_command("send_digests", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_send_digests_sends_what_is_due_once(readers):
    assert "2 sent" in run("--now", NOW)
    assert len(mail.outbox) == 2
    assert "0 digests" in run("--now", NOW)
    assert len(mail.outbox) == 2


def test_dry_run_prints_and_changes_nothing(readers):
    out = run("--now", NOW, "--dry-run")
    assert readers[0].email in out and "Negation paper" in out and "Trending in #negation" not in out
    assert "New in #negation" in out and not Digest.objects.exists() and mail.outbox == []


def test_user_and_force(readers):
    run("--now", "2026-11-30T03:00:00Z", "--user", readers[0].email)  # before 08:00 UTC: nobody due
    assert mail.outbox == []
    run("--now", "2026-11-30T03:00:00Z", "--user", readers[0].email, "--force")
    assert [m.to for m in mail.outbox] == [[readers[0].email]]
    assert Digest.objects.get().kind == Digest.Kind.EXTRA


def test_force_for_everyone_skips_readers_who_turned_it_off(readers):
    DigestSettings.objects.create(user=readers[1], frequency="off")
    run("--now", "2026-11-30T03:00:00Z", "--force")
    assert [m.to for m in mail.outbox] == [[readers[0].email]]


@pytest.mark.parametrize("value", ["garbage", "2026-13-01T00:00:00Z", "2026-11-30T09:00:00"])
def test_a_bad_now_is_a_clear_error(value):
    with pytest.raises(CommandError, match="--now"):
        run("--now", value)


def test_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No reader"):
        run("--user", "nobody@example.com")


def test_the_dispatch_schedule_exists_once():
    task = PeriodicTask.objects.get(name="Dispatch due digests")
    assert task.task == "subscriptions.dispatch_due_digests" and task.interval.every == 15
    assert task.interval.period == "minutes" and task.enabled


def test_admin_pages_and_the_test_digest_action(client, readers):
    staff = StaffFactory()
    client.force_login(staff)
    digest = DigestFactory(user=readers[0], status=Digest.Status.SENT)
    DigestItemFactory(digest=digest)
    for url in [
        "/admin/subscriptions/digest/",
        "/admin/subscriptions/digest/?status__exact=sent",
        f"/admin/subscriptions/digest/{digest.pk}/change/",
        "/admin/subscriptions/tagfollow/?q=" + readers[0].email,
        "/admin/subscriptions/digestsettings/?q=" + readers[0].email,
    ]:
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/subscriptions/digest/{digest.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # read-only log
    settings_row = DigestSettings.objects.create(user=readers[1])
    response = client.post(
        "/admin/subscriptions/digestsettings/",
        {"action": "send_me_a_test_digest", "_selected_action": [settings_row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [[staff.email]] and mail.outbox[0].subject.startswith("[test] ")
    assert Digest.objects.count() == 1  # the test send records nothing
