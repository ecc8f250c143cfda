import pytest
from django.core.management import call_command

from papers import paper_pages
from papers.models import Bookmark, Paper, Tag, Upvote

pytestmark = pytest.mark.django_db


def test_load_demo_loads_the_76_seed_papers_and_the_60_sample_papers_and_is_idempotent(capsys):
    call_command("load_demo")
    counts = (Paper.objects.count(), Tag.objects.count(), Upvote.objects.count(), Bookmark.objects.count())
    assert Paper.objects.filter(source=Paper.Source.DEMO).count() == 76
    assert counts[0] == 76 + 60
    assert Paper.objects.published().count() == counts[0]
    assert counts[1] >= 7 and counts[2] > 0 and counts[3] > 0
    assert not paper_pages.stale_ids().exists()  # every paper's page stored, as a fit leaves them

    call_command("load_demo")
    assert (Paper.objects.count(), Tag.objects.count(), Upvote.objects.count(), Bookmark.objects.count()) == counts
    assert "created 0, unchanged 76; sample papers created 0" in capsys.readouterr().out


def test_demo_samples_have_authors_links_and_categories():
    call_command("load_demo")
    samples = Paper.objects.exclude(source=Paper.Source.DEMO)
    assert samples.exclude(authors_text="").count() == samples.count()
    assert samples.exclude(pdf_url="").exists() and samples.exclude(code_url="").exists()
    assert samples.exclude(primary_category="").exists() and samples.exclude(arxiv_id="").count() == samples.count()


def test_demo_curator_is_a_curator_not_a_superuser_and_the_operator_is_one():
    from django.contrib.auth import get_user_model

    call_command("load_demo")
    users = get_user_model().objects
    curator, operator = users.get(email="curator@example.com"), users.get(email="admin@example.com")
    assert curator.is_staff and not curator.is_superuser
    assert list(curator.groups.values_list("name", flat=True)) == ["Curators"]
    assert curator.has_perm("papers.change_paper") and not curator.has_perm("auth.change_user")
    assert operator.is_superuser


def test_demo_tags_are_what_a_reader_expects():
    call_command("load_demo")
    sentiment = set(Paper.objects.tagged("sentiment-analysis").values_list("title", flat=True))
    for wrong in ("CausalGym", "TANGNN", "Polarity is all you need"):
        assert not any(title.startswith(wrong) for title in sentiment), wrong
    assert any(title.startswith("FinnSentiment") for title in sentiment)
    datasets = Paper.objects.tagged("datasets").filter(source=Paper.Source.DEMO)
    assert 10 <= datasets.count() <= 20  # was 35 of 76 when any "benchmark" in an abstract counted
    assert datasets.filter(title__startswith="KazSAnDRA").exists()


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


def test_demo_readers_follow_tags_and_searches_and_have_digest_settings():
    from papers.search import filter_matching
    from subscriptions.models import DigestSettings, SavedSearch, TagFollow

    call_command("load_demo")
    follows = TagFollow.objects.count()
    assert follows == 6
    assert DigestSettings.objects.filter(user__email="reader3@example.com", timezone="Asia/Kolkata").exists()
    searches = SavedSearch.objects.order_by("user__email")
    assert [s.user.email for s in searches] == ["reader1@example.com", "reader2@example.com", "reader3@example.com"]
    for search in searches:  # each demo search finds papers in the demo catalogue
        assert filter_matching(Paper.objects.published(), search.query).exists(), search.query
    call_command("load_demo")
    assert TagFollow.objects.count() == follows
    assert SavedSearch.objects.count() == 3
