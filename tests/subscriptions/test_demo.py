import pytest
from django.core.management import call_command

from papers.models import Bookmark, Paper, Tag, Upvote

pytestmark = pytest.mark.django_db


def test_load_demo_loads_all_76_seed_papers_and_is_idempotent(capsys):
    call_command("load_demo")
    counts = (Paper.objects.count(), Tag.objects.count(), Upvote.objects.count(), Bookmark.objects.count())
    assert counts[0] == 76
    assert Paper.objects.published().count() == 76
    assert counts[1] >= 7 and counts[2] > 0 and counts[3] > 0

    call_command("load_demo")
    assert (Paper.objects.count(), Tag.objects.count(), Upvote.objects.count(), Bookmark.objects.count()) == counts
    assert "created 0, unchanged 76" in capsys.readouterr().out


def test_demo_tags_come_from_keyword_rules():
    call_command("load_demo")
    simans = Paper.objects.get(title__startswith="SimANS")
    assert "negative-sampling" in set(simans.tags.values_list("slug", flat=True))
    assert Paper.objects.tagged("sentiment-analysis").count() >= 5


def test_demo_counters_match_rows_and_scores_are_set():
    call_command("load_demo")
    for paper in Paper.objects.filter(upvote_count__gt=0):
        assert paper.upvote_count == paper.upvotes.count()
        assert paper.trending_week > 0


def test_demo_readers_follow_tags_and_have_digest_settings():
    from subscriptions.models import DigestSettings, TagFollow

    call_command("load_demo")
    follows = TagFollow.objects.count()
    assert follows == 6
    assert DigestSettings.objects.filter(user__email="reader3@example.com", timezone="Asia/Kolkata").exists()
    call_command("load_demo")
    assert TagFollow.objects.count() == follows
