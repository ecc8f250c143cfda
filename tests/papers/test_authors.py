"""Author pages (papers in both orders, tags, co-authors, links) and merging duplicate authors."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import IntegrityError
from django.urls import reverse

from papers.authors import merge_authors
from papers.models import Author, AuthorRedirect, Paper, PaperAuthor
from tests.factories import (
    AuthorFactory,
    CuratorFactory,
    PaperAuthorFactory,
    PaperFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def byline(paper, *authors):
    for position, author in enumerate(authors):
        PaperAuthorFactory(paper=paper, author=author, position=position)
    paper.authors_text = ", ".join(a.name for a in authors)
    paper.save()
    return paper


def test_author_url_has_id_and_slug_and_wrong_slug_or_bare_id_redirect(client):
    author = AuthorFactory(name="José Núñez")
    assert author.get_absolute_url() == f"/authors/{author.pk}-jose-nunez/"
    assert client.get(author.get_absolute_url()).status_code == 200
    for path in (f"/authors/{author.pk}/", f"/authors/{author.pk}-someone-else/"):
        response = client.get(path)
        assert response.status_code == 301
        assert response["Location"] == author.get_absolute_url()
    assert client.get("/authors/999999/").status_code == 404


def test_author_page_lists_published_papers_newest_first_and_by_upvotes(client, now):
    ada, bob = AuthorFactory(name="Ada Lovelace"), AuthorFactory(name="Bob Builder")
    negation = TagFactory(name="negation")
    old = byline(PaperFactory(title="Old but loved", published_at=now - timedelta(days=30), tags=[negation]), ada)
    Paper.objects.filter(pk=old.pk).update(upvote_count=9)
    new = byline(PaperFactory(title="New and quiet", published_at=now - timedelta(days=1)), ada, bob)
    byline(PaperFactory(title="Someone else's", published_at=now), bob)
    byline(PaperFactory(title="A hidden draft", status=Paper.Status.DRAFT, published_at=now), ada)

    html = client.get(ada.get_absolute_url()).content.decode()
    assert html.index(new.title) < html.index(old.title)
    assert "Someone else" not in html and "hidden draft" not in html
    assert "2 papers on paperhub" in html
    assert f'href="{bob.get_absolute_url()}"' in html and "(1 paper)" in html  # co-author
    assert f'href="{negation.get_absolute_url()}"' in html

    html = client.get(ada.get_absolute_url() + "?sort=top").content.decode()
    assert html.index(old.title) < html.index(new.title)
    assert 'href="?sort=top" aria-current="page"' in html


def test_author_page_costs_a_constant_number_of_queries(client, django_assert_max_num_queries):
    ada = AuthorFactory()
    for _ in range(12):
        byline(PaperFactory(), ada, AuthorFactory())
    with django_assert_max_num_queries(12):
        assert client.get(ada.get_absolute_url()).status_code == 200


def test_author_names_link_to_their_pages_on_paper_pages_and_cards(client):
    ada = AuthorFactory(name="Ada <Lovelace>")
    paper = byline(PaperFactory(), ada)
    link = f'<a href="{ada.get_absolute_url()}">Ada &lt;Lovelace&gt;</a>'
    assert link in client.get(paper.get_absolute_url()).content.decode()
    assert link in client.get(ada.get_absolute_url()).content.decode()  # its card
    assert link in client.get("/?period=all").content.decode()


def test_cards_link_the_first_three_authors_then_et_al(client):
    paper = byline(PaperFactory(), *[AuthorFactory(name=f"Writer {i}") for i in range(11)])
    html = client.get("/?period=all").content.decode()
    assert ">Writer 2</a> et al." in html and ">Writer 3</a>" not in html
    assert ">Writer 10</a>" in client.get(paper.get_absolute_url()).content.decode()


def test_merge_moves_every_byline_keeps_one_per_paper_and_redirects_old_pages(client):
    kept, dup, other = AuthorFactory(name="J. Smith"), AuthorFactory(name="John Smith"), AuthorFactory(name="X")
    p1 = byline(PaperFactory(), kept, other)
    p2 = byline(PaperFactory(), other, dup)
    both = byline(PaperFactory(), dup, kept)
    PaperAuthorFactory(paper=PaperFactory(), author=kept, position=0)
    old_url = dup.get_absolute_url()

    result = merge_authors(authors=Author.objects.filter(pk__in=[dup.pk, kept.pk]))

    assert result.kept == kept and result.merged == 1 and result.bylines_moved == 1
    assert not Author.objects.filter(pk=dup.pk).exists()
    assert list(p2.authorships.values_list("author__name", flat=True)) == ["X", "J. Smith"]
    assert list(both.authorships.values_list("author_id", flat=True)) == [kept.pk]
    assert Paper.objects.get(pk=p2.pk).authors_text == "X, J. Smith"
    assert p1.authorships.count() == 2
    response = client.get(old_url)
    assert response.status_code == 301 and response["Location"] == kept.get_absolute_url()

    # Merged again later into an author with more papers: the first redirect follows along.
    newer = AuthorFactory(name="Smith, John")
    for _ in range(5):
        byline(PaperFactory(), newer)
    merge_authors(authors=[kept, newer])
    assert client.get(old_url)["Location"] == newer.get_absolute_url()


def test_merging_fewer_than_two_authors_is_refused():
    with pytest.raises(ValueError):
        merge_authors(authors=[AuthorFactory()])


def test_one_redirect_per_old_author_id():
    author = AuthorFactory()
    AuthorRedirect.objects.create(old_id=12345, author=author)
    with pytest.raises(IntegrityError):
        AuthorRedirect.objects.create(old_id=12345, author=AuthorFactory())


def test_curator_merges_from_the_admin_and_a_reader_cannot(client):
    a, b = AuthorFactory(name="A. Turing"), AuthorFactory(name="Alan Turing")
    byline(PaperFactory(), b)
    url = reverse("admin:papers_author_changelist")
    data = {"action": "merge", ACTION_CHECKBOX_NAME: [a.pk, b.pk]}

    client.force_login(UserFactory())
    client.post(url, data)
    assert Author.objects.filter(pk__in=[a.pk, b.pk]).count() == 2

    client.force_login(CuratorFactory())
    response = client.post(url, data, follow=True)
    assert "Merged 1 author(s) into “Alan Turing”" in response.content.decode()
    assert list(Author.objects.filter(pk__in=[a.pk, b.pk])) == [b]
    assert PaperAuthor.objects.filter(author=b).count() == 1
