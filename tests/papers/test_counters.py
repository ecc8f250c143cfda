"""Paper.upvote_count and bookmark_count always equal their rows, however the rows go (papers migration 0003)."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.urls import reverse

from papers.models import Bookmark, Paper, Upvote
from papers.reactions import toggle_bookmark, toggle_upvote
from tests.factories import BookmarkFactory, PaperFactory, StaffFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db


def assert_counts_equal_rows() -> None:
    papers = Paper.objects.annotate(
        upvotes_n=Count("upvotes", distinct=True), bookmarks_n=Count("bookmarks", distinct=True)
    )
    for paper in papers:
        assert (paper.upvote_count, paper.bookmark_count) == (paper.upvotes_n, paper.bookmarks_n), paper.title


@pytest.fixture
def reactions():
    papers = PaperFactory.create_batch(4)
    readers = UserFactory.create_batch(5)
    for i, reader in enumerate(readers):
        for paper in papers[: i % 4 + 1]:
            UpvoteFactory(user=reader, paper=paper)
        BookmarkFactory(user=reader, paper=papers[i % 4])
    return papers, readers


def test_rows_created_and_toggled_are_counted(reactions, now):
    papers, readers = reactions
    assert Paper.objects.get(pk=papers[0].pk).upvote_count == 5
    toggle_upvote(user=readers[0], paper=papers[0], now=now)
    toggle_bookmark(user=readers[1], paper=papers[0])
    assert Paper.objects.get(pk=papers[0].pk).upvote_count == 4
    assert_counts_equal_rows()


def test_deleting_readers_cascades_and_keeps_counts_true(reactions):
    papers, readers = reactions
    readers[4].delete()
    get_user_model().objects.filter(pk__in=[readers[0].pk, readers[1].pk]).delete()  # bulk, cascading
    assert_counts_equal_rows()
    assert Paper.objects.get(pk=papers[0].pk).upvote_count == 2


def test_bulk_deleting_reactions_in_the_admin_keeps_counts_true(reactions, client):
    papers, _ = reactions
    client.force_login(StaffFactory())
    for model, name in [(Upvote, "upvote"), (Bookmark, "bookmark")]:
        chosen = list(model.objects.filter(paper=papers[0]).values_list("pk", flat=True))
        response = client.post(
            reverse(f"admin:papers_{name}_changelist"),
            {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        )
        assert response.status_code == 302
        assert not model.objects.filter(paper=papers[0]).exists()
    assert_counts_equal_rows()
    assert Paper.objects.filter(pk=papers[0].pk).values_list("upvote_count", "bookmark_count").get() == (0, 0)


def test_deleting_papers_and_raw_deletes_keep_counts_true(reactions):
    papers, _ = reactions
    papers[3].delete()
    Paper.objects.filter(pk=papers[2].pk).delete()
    Upvote.objects.filter(paper=papers[1]).delete()
    Bookmark.objects.all()._raw_delete(Bookmark.objects.db)  # no Django cascade, no signals: the database still counts
    assert Paper.objects.count() == 2
    assert_counts_equal_rows()


def test_moving_a_reaction_to_another_paper_moves_the_count(reactions):
    papers, readers = reactions
    Upvote.objects.filter(user=readers[0], paper=papers[0]).update(paper=papers[3])
    assert_counts_equal_rows()


def test_reaction_admin_is_read_only_but_can_delete(client):
    upvote = UpvoteFactory()
    client.force_login(StaffFactory())
    assert client.get(reverse("admin:papers_upvote_add")).status_code == 403
    change = client.get(reverse("admin:papers_upvote_change", args=[upvote.pk]))
    assert change.status_code == 200 and "Save" not in change.content.decode()
    response = client.post(reverse("admin:papers_upvote_change", args=[upvote.pk]), {"paper": upvote.paper_id})
    assert response.status_code == 403
    assert client.get(reverse("admin:papers_bookmark_add")).status_code == 403
    assert client.post(reverse("admin:papers_upvote_delete", args=[upvote.pk]), {"post": "yes"}).status_code == 302
    assert not Upvote.objects.exists()
    assert Paper.objects.get(pk=upvote.paper_id).upvote_count == 0
