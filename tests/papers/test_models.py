import pytest
from django.db import IntegrityError, transaction

from papers.models import Paper, TagRule
from tests.factories import BookmarkFactory, PaperFactory, StaffFactory, TagFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_duplicate_arxiv_id_is_rejected():
    PaperFactory(arxiv_id="2101.00001")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperFactory(arxiv_id="2101.00001")


def test_old_style_arxiv_ids_are_unique_too():
    PaperFactory(arxiv_id="cs/0503050")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperFactory(arxiv_id="cs/0503050")


def test_papers_without_arxiv_id_do_not_collide():
    PaperFactory(arxiv_id="")
    PaperFactory(arxiv_id="")
    assert Paper.objects.filter(arxiv_id="").count() == 2


def test_duplicate_upvote_is_rejected():
    upvote = UpvoteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        UpvoteFactory(user=upvote.user, paper=upvote.paper)


def test_duplicate_bookmark_is_rejected():
    bookmark = BookmarkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BookmarkFactory(user=bookmark.user, paper=bookmark.paper)


def test_absolute_url_uses_arxiv_id_then_slug():
    assert PaperFactory(arxiv_id="cs/0503050").get_absolute_url() == "/papers/cs/0503050/"
    assert PaperFactory(arxiv_id="", slug="my-paper").get_absolute_url() == "/papers/my-paper/"


def test_published_and_visible_to():
    published = PaperFactory()
    draft = PaperFactory(status=Paper.Status.DRAFT)
    hidden = PaperFactory(status=Paper.Status.HIDDEN)
    assert list(Paper.objects.published()) == [published]
    assert set(Paper.objects.visible_to(UserFactory())) == {published}
    assert set(Paper.objects.visible_to(StaffFactory())) == {published, draft, hidden}


def test_tagged_accepts_tag_or_slug():
    tag = TagFactory(slug="negation")
    paper = PaperFactory(tags=[tag])
    PaperFactory()
    assert list(Paper.objects.tagged(tag)) == [paper]
    assert list(Paper.objects.tagged("negation")) == [paper]


def test_trending_rejects_unknown_period():
    with pytest.raises(ValueError, match="unknown trending period"):
        Paper.objects.trending("year")


def test_tag_rule_with_broken_regex_does_not_validate():
    rule = TagRule(tag=TagFactory(), kind=TagRule.Kind.REGEX, pattern="negat(ion")
    with pytest.raises(Exception, match="cannot be used: missing \\)"):
        rule.full_clean()
