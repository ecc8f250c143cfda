"""Stored paper pages: rendered once, filled per request, never shown stale (papers/paper_pages.py)."""

import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.shortcuts import render
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers import curation, pagecache, paper_pages, vectors
from papers.authors import merge_authors
from papers.comments import recount
from papers.importers.records import PaperRecord
from papers.importers.upsert import upsert_paper
from papers.models import Comment, Paper, PaperPage
from papers.slots import render_slot
from tests.factories import (
    AuthorFactory,
    PaperAuthorFactory,
    PaperFactory,
    StaffFactory,
    TagFactory,
    TagRuleFactory,
    UpvoteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper(now):
    tag = TagFactory(slug="negation", name="Negation")
    paper = PaperFactory(
        title="Hard negative sampling for dense retrieval",
        abstract="negative sampling retrieval",
        arxiv_id="2601.00100",
        tags=[tag],
        published_at=now - timedelta(days=3),
    )
    PaperAuthorFactory(paper=paper, author=AuthorFactory(name="Ada Lovelace"), position=0)
    neighbours = [
        PaperFactory(
            title=f"Negative sampling for dense retrieval {i}",
            abstract="negative sampling retrieval",
            published_at=now - timedelta(days=1),
        )
        for i in range(3)
    ]
    PaperFactory(title="Sentiment of movie reviews", abstract="opinion polarity")
    vectors.fit(now=now)
    paper_pages.render_missing()
    paper.neighbours = neighbours
    return paper


def visit(paper, client=None) -> str:
    """The page as a visitor gets it cold (the shared page cache emptied first)."""
    cache.clear()
    response = (client or Client()).get(paper.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_stored_page_is_what_a_live_render_shows(paper):
    stored = visit(paper)
    PaperPage.objects.all().delete()
    assert visit(paper) == stored  # rendered again on the view that finds none: the same page
    assert PaperPage.objects.filter(paper=paper).exists()
    assert "Hard negative sampling for dense retrieval" in stored and ">Ada Lovelace</a>" in stored
    assert "Similar papers" in stored and "Negative sampling for dense retrieval 0" in stored
    assert '<link rel="canonical" href="http://testserver/papers/2601.00100/">' in stored
    assert "\ue010" not in stored and "\ue011" not in stored


def test_a_cold_page_with_tags_and_upvotes_reads_two_queries(paper):
    UpvoteFactory(paper=paper)
    visit(paper)  # draws the chart again (an upvote since) and stores it
    cache.clear()
    paper_pages._counts_memo["until"] = 0.0  # and the counts this process kept
    with CaptureQueriesContext(connection) as queries:
        Client().get(paper.get_absolute_url())
    # the paper with its page and its neighbours' counts and cards; the tags' followers (cached for a minute)
    followers = apps.is_installed("subscriptions")  # without it, no tag counts its followers
    assert len(queries) == 1 + followers, [q["sql"][:100] for q in queries.captured_queries]


def test_the_chart_is_drawn_again_after_an_upvote_or_on_a_new_day(paper, time_machine, now):
    assert "No upvotes yet" in visit(paper)
    reader = UserFactory()
    client = Client()
    client.force_login(reader)
    client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"})
    assert "1 in the last 30 days" in visit(paper)
    client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"})  # taken back
    assert "No upvotes yet" in visit(paper)
    UpvoteFactory(paper=paper, created_at=now - timedelta(days=29))
    Paper.objects.filter(pk=paper.pk).update(trending_month=1.5)  # as the upvote's refresh would
    assert "1 in the last 30 days" in visit(paper)
    time_machine.move_to(now + timedelta(days=2), tick=False)
    assert "No upvotes yet" in visit(paper)  # the upvote is out of the 30 days now


def test_the_nightly_redraw_leaves_a_new_days_first_view_nothing_to_draw_or_write(paper, time_machine, now):
    UpvoteFactory(paper=paper, created_at=now - timedelta(days=29))
    Paper.objects.filter(pk=paper.pk).update(trending_month=1.5)  # as the upvote's refresh would
    assert "1 in the last 30 days" in visit(paper)  # drawn again (an upvote since) and stored
    assert paper_pages.redraw_charts(now=now) == 0  # every chart is current
    time_machine.move_to(now + timedelta(days=2), tick=False)  # the upvote is out of the 30 days
    assert paper_pages.redraw_charts(now=timezone.now()) == PaperPage.objects.count()  # a new day: all stale
    with CaptureQueriesContext(connection) as queries:
        page = visit(paper)
    assert "No upvotes yet" in page
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert paper_pages.redraw_charts(now=timezone.now()) == 0


def test_the_charts_are_redrawn_by_a_beat_entry_just_after_midnight():
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Redraw paper charts")
    assert task.task == "papers.redraw_paper_charts" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("1", "0", settings.TIME_ZONE)


def test_counts_dates_and_the_chart_are_fresh_without_rendering_again(paper, time_machine, now):
    before = visit(paper)
    rendered_at = PaperPage.objects.get(paper=paper).rendered_at
    assert "0 upvotes" in visible_text(before) and "No upvotes yet" in before
    assert "3 days ago" in before and "1 day ago" in before
    UpvoteFactory(paper=paper)
    UpvoteFactory(paper=paper.neighbours[0])
    followers = apps.is_installed("subscriptions")  # its follower counts fill a slot of the page
    if followers:
        from subscriptions.models import TagFollow

        TagFollow.objects.create(user=UserFactory(), tag=paper.tags.get())
    time_machine.move_to(now + timedelta(days=1), tick=False)
    after = visit(paper)
    assert PaperPage.objects.get(paper=paper).rendered_at == rendered_at
    assert "1 upvote " in visible_text(after) and "1 in the last 30 days" in after
    assert re.search(rf'<span class="upvotes-of-{paper.neighbours[0].pk}">\s*1 upvote\s*</span>', after)
    assert ("1 follower" in after) is followers
    assert "4 days ago" in after and "2 days ago" in after


def test_a_neighbours_comment_count_is_fresh(paper):
    neighbour = paper.neighbours[0]
    assert "comment" not in visible_text(visit(paper)).replace("Read and join the discussion", "")
    Comment.objects.create(paper=neighbour, user=UserFactory(), body="Nice.", status=Comment.Status.VISIBLE)
    recount([neighbour.pk])
    assert f'<a href="/papers/{neighbour.pk}/comments/">1 comment</a>' in visit(paper)


def test_a_visitor_gets_no_token_and_a_reader_their_own_state(paper):
    html = visit(paper)
    assert "csrfmiddlewaretoken" not in html and 'aria-pressed="true"' not in html
    reader = UserFactory()
    UpvoteFactory(user=reader, paper=paper)
    for _ in range(2):  # the frame's first reader, then a second request from the frame
        client = Client()
        client.force_login(reader)
        html = visit(paper, client)
        # the upvote, bookmark and Follow forms (and the menu's log-out form)
        forms = 2 + apps.is_installed("subscriptions")  # Follow comes from subscriptions
        assert (
            len(re.findall(r'name="csrfmiddlewaretoken" value="\w+"><input type="hidden" name="next"', html)) == forms
        )
        assert re.search(r'aria-pressed="true"><span aria-hidden="true">▲</span> Upvote', html)
    assert ("Follow" in html) is apps.is_installed("subscriptions") and "#negation" in html


def test_a_curators_edit_of_the_paper_shows_at_once(paper, time_machine, now):
    visit(paper)
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    paper.title = "Retitled by a curator"
    paper.save()  # as the admin's change form does: updated_at moves past the stored page
    assert "Retitled by a curator" in visit(paper)
    assert "Hard negative sampling" not in visit(paper)


def test_a_neighbours_new_title_and_its_hiding_show_at_once(paper, time_machine, now):
    visit(paper)
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    first, second = paper.neighbours[:2]
    first.title = "A neighbour retitled"
    first.save()
    curation.hide(Paper.objects.filter(pk=second.pk))
    html = visit(paper)
    assert "A neighbour retitled" in html and "Negative sampling for dense retrieval 0" not in html
    assert second.title not in html


def test_neighbours_hidden_beyond_the_spare_are_replaced_by_the_next_ones(paper, monkeypatch):
    # The page's statement reads one neighbour beyond what it shows (here: the first one only).
    monkeypatch.setattr(paper_pages, "FIRST_NEIGHBOURS", 1)
    first = Paper.objects.get(pk=paper_pages.find(arxiv_id=paper.arxiv_id, slug="")[0].stored_similar_ids[0])
    curation.hide(Paper.objects.filter(pk=first.pk))
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        html = Client().get(paper.get_absolute_url()).content.decode()
    assert first.title not in html
    shown = [n.title for n in paper.neighbours if n.pk != first.pk]
    assert len(shown) == 2 and all(title in html for title in shown)
    followers = apps.is_installed("subscriptions")
    assert len(queries) == 2 + followers  # the page's statement, then the rest of the neighbours


def test_a_page_rendered_before_a_tag_change_and_stored_after_it_is_never_shown(
    paper, time_machine, now, django_capture_on_commit_callbacks
):
    visit(paper)
    before = PaperPage.objects.get(paper=paper)  # what a view that read the paper before the change renders
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        curation.add_tags(Paper.objects.filter(pk=paper.pk), [TagFactory(slug="retrieval", name="Retrieval")])
    before.save()  # ... and stores after the change committed and deleted the stored page
    assert "#retrieval" in visit(paper)


def test_tags_added_or_removed_by_curation_or_rules_show_at_once(paper):
    visit(paper)
    other = TagFactory(slug="retrieval", name="Retrieval")
    curation.add_tags(Paper.objects.filter(pk=paper.pk), [other])
    assert "#retrieval" in visit(paper)
    curation.remove_tags(Paper.objects.filter(pk=paper.pk), [other])
    assert "#retrieval" not in visit(paper)
    rule_tag = TagFactory(slug="sampling", name="Sampling")
    TagRuleFactory(tag=rule_tag, pattern="sampling")
    curation.reapply_tag_rules(Paper.objects.filter(pk=paper.pk))
    assert "#sampling" in visit(paper)


def test_a_tag_renamed_deactivated_or_deleted_in_the_admin_shows_at_once(paper):
    tag = paper.tags.get()
    visit(paper)
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    form = {"name": "Negations", "slug": "negations", "description": "", "active": "on"}
    form |= {"created_at_0": "2026-11-30", "created_at_1": "09:00:00"}
    inline = {"rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}
    response = admin.post(f"/admin/papers/tag/{tag.pk}/change/", {**form, **inline})
    assert response.status_code == 302, response.content.decode()[:2000]
    html = visit(paper)
    assert "#negations" in html and 'content="Negations"' in html
    admin.post(f"/admin/papers/tag/{tag.pk}/change/", {**form, "active": "", **inline})
    assert "#negations" not in visit(paper)
    admin.post(f"/admin/papers/tag/{tag.pk}/change/", {**form, **inline})
    assert "#negations" in visit(paper)
    admin.post(f"/admin/papers/tag/{tag.pk}/delete/", {"post": "yes"})
    assert "#negations" not in visit(paper)


def test_an_author_renamed_or_merged_shows_at_once(paper):
    author = paper.authorships.get().author
    visit(paper)
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    response = admin.post(
        f"/admin/papers/author/{author.pk}/change/", {"name": "Ada King", "name_normalized": "ada king"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ">Ada King</a>" in visit(paper)
    kept = AuthorFactory(name="Augusta Ada King")
    for other in PaperFactory.create_batch(2):
        PaperAuthorFactory(paper=other, author=kept, position=0)
    merge_authors(authors=[author, kept])
    html = visit(paper)
    assert f'<a href="{kept.get_absolute_url()}">Augusta Ada King</a>' in html


def test_an_import_that_updates_the_paper_shows_at_once(paper, django_capture_on_commit_callbacks):
    visit(paper)
    record = PaperRecord(
        arxiv_id="2601.00100",
        arxiv_version=2,
        title="Hard negative sampling for dense retrieval, revised",
        abstract="negative sampling retrieval",
        authors=["Ada Lovelace", "Charles Babbage"],
        tags=["imported"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        upsert_paper(record)
    assert PaperPage.objects.filter(paper=paper).exists()  # rendered again by the task the import queued
    html = visit(paper)
    assert "revised" in html and "Charles Babbage" in html and "#imported" in html


def test_an_imported_paper_gets_its_page_when_the_import_commits(now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = upsert_paper(PaperRecord(arxiv_id="2601.00999", title="A new paper", abstract="About things."))
    assert PaperPage.objects.filter(paper=result.paper).exists()


def test_a_refit_shows_its_new_neighbours_without_rendering_again(paper, now):
    rendered_at = PaperPage.objects.get(paper=paper).rendered_at
    newcomer = PaperFactory(title="Negative sampling for dense retrieval, the sequel", abstract=paper.abstract)
    vectors.fit(now=now)
    html = visit(paper)
    assert "the sequel" in html
    assert PaperPage.objects.get(paper=paper).rendered_at == rendered_at
    assert PaperPage.objects.filter(paper=newcomer).exists()  # its card, rendered on first use


def cold_queries(paper) -> list[str]:
    """The statements a visitor's cold view of the page makes (the tags' counts left out)."""
    cache.clear()
    paper_pages._counts_memo["until"] = 0.0
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(paper.get_absolute_url()).status_code == 200
    return [q["sql"] for q in queries.captured_queries if "papers_tag" not in q["sql"]]


def test_each_page_holds_its_neighbours_cards_and_reads_none_of_their_pages(paper):
    page = PaperPage.objects.get(paper=paper)
    first = page.similar[: paper_pages.FIRST_NEIGHBOURS]
    assert {n.pk for n in paper.neighbours} <= set(first)
    assert None not in page.similar_stamps and len(page.similar_stamps) == len(first)
    cards = dict(PaperPage.objects.filter(paper__in=first).values_list("paper_id", "card"))
    assert page.similar_cards.split(paper_pages.CARD_SEPARATOR) == [cards[pk] for pk in first]
    queries = cold_queries(paper)
    assert len(queries) == 1 and "papers_papervector" in queries[0]  # read only for another fit's list
    assert paper_pages.copy_similar() == 0  # nothing out of date


def test_a_neighbours_change_is_read_from_its_page_until_the_copy_is_made_again(paper, time_machine, now):
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    first = paper.neighbours[0]
    first.title = "A neighbour retitled"
    first.save()
    paper_pages.render([first.pk])  # its own page is current again; the copy in the paper's is not
    assert "A neighbour retitled" in visit(paper)
    assert len(cold_queries(paper)) == 2  # the page's statement, then the neighbour's card from its page
    holding = [page for page in PaperPage.objects.all() if first.pk in page.similar[: paper_pages.FIRST_NEIGHBOURS]]
    assert paper in [page.paper for page in holding]
    assert paper_pages.copy_similar() == len(holding)  # those pages, and no other
    assert len(cold_queries(paper)) == 1
    assert "A neighbour retitled" in visit(paper)


def test_a_refits_lists_are_copied_into_the_pages_by_the_render_pass(paper, now):
    newcomer = PaperFactory(title="Negative sampling for dense retrieval, the sequel", abstract=paper.abstract)
    vectors.fit(now=now)
    assert "the sequel" in visit(paper)  # the vectors' list, since the copy is of the previous fit
    assert paper_pages.render_missing() == 0  # the newcomer's page was rendered on first use
    page = PaperPage.objects.get(paper=paper)
    assert page.similar_version == vectors.current_version().pk and newcomer.pk in page.similar
    assert len(cold_queries(paper)) == 1
    assert "the sequel" in visit(paper)


def test_a_copy_is_never_written_into_a_page_that_other_code_rendered_meanwhile(paper, monkeypatch):
    holding = PaperPage.objects.exclude(similar=[]).count()
    PaperPage.objects.update(similar_stamps=[])  # every copy of a page with neighbours out of date
    copies = paper_pages._copies

    def rendered_by_a_deploy_meanwhile(paper_ids, **kwargs):
        PaperPage.objects.filter(paper=paper).update(version="new code", similar_cards="its own copy")
        return copies(paper_ids, **kwargs)

    monkeypatch.setattr(paper_pages, "_copies", rendered_by_a_deploy_meanwhile)
    assert paper_pages.copy_similar() == holding - 1
    assert PaperPage.objects.get(paper=paper).similar_cards == "its own copy"


def test_a_refit_that_keeps_a_pages_list_moves_only_its_version(paper, now):
    before = {page.pk: page for page in PaperPage.objects.all()}
    vectors.fit(now=now)  # the same catalogue: the same lists
    with CaptureQueriesContext(connection) as queries:
        assert paper_pages.copy_similar() == len(before)
    assert not [q for q in queries.captured_queries if "similar_cards" in q["sql"] and "UPDATE" in q["sql"]]
    for page in PaperPage.objects.all():
        assert page.similar_version == vectors.current_version().pk
        assert (page.similar, page.similar_stamps, page.similar_cards) == (
            before[page.pk].similar,
            before[page.pk].similar_stamps,
            before[page.pk].similar_cards,
        )


def test_pages_of_other_templates_are_stale(paper, monkeypatch):
    PaperPage.objects.filter(paper=paper).update(body="an old layout")
    assert "an old layout" in visit(paper)  # same version: served as stored
    monkeypatch.setattr(paper_pages, "version", lambda: "another")
    assert "an old layout" not in visit(paper)
    assert PaperPage.objects.get(paper=paper).version == "another"


def test_render_missing_renders_only_missing_and_stale_pages(paper, time_machine, now):
    assert paper_pages.render_missing() == 0
    Paper.objects.filter(pk=paper.pk).update(title="Changed")  # no save: not noticed by updated_at
    assert paper_pages.render_missing() == 0
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    paper.save()
    assert paper_pages.render_missing() == 1
    PaperPage.objects.filter(paper=paper.neighbours[0]).delete()
    assert list(paper_pages.stale_ids()) == [paper.neighbours[0].pk]


def test_the_fit_task_renders_every_missing_page(paper):
    from papers.tasks import fit_vectors

    PaperPage.objects.all().delete()
    outcome = fit_vectors()
    assert outcome["pages"] == Paper.objects.published().count()
    assert PaperPage.objects.count() == outcome["pages"]


def test_a_stray_placeholder_character_in_a_title_never_breaks_the_page(now):
    paper = PaperFactory(title="Odd \ue010csrf:\ue011 and \ue010tagslot:99\ue011 title")
    html = visit(paper)
    assert "csrfmiddlewaretoken" not in html


def test_a_neighbour_whose_title_holds_the_cards_separator_is_listed_like_the_others(paper, time_machine):
    time_machine.shift(timedelta(minutes=1))  # the edit moves its `updated_at`: its card is rendered again
    odd = paper.neighbours[0]
    odd.title = "Negative sampling \ue010\ue011 for dense retrieval"  # as a curator might paste it
    odd.save()
    paper_pages.render_missing()  # its card stored, then read with the others
    html = visit(paper)
    assert "Negative sampling  for dense retrieval" in html
    assert all(neighbour.title in html for neighbour in paper.neighbours[1:])


def test_staff_see_an_unpublished_paper_rendered_live_and_nothing_is_stored(now):
    draft = PaperFactory(status=Paper.Status.DRAFT, title="Draft work", arxiv_id="2601.00777")
    staff = Client()
    staff.force_login(StaffFactory())
    assert "only staff can see it" in staff.get(draft.get_absolute_url()).content.decode()
    assert not PaperPage.objects.exists()


def test_a_visitors_page_is_the_template_rendered_for_them_without_rendering_it(paper, rf, now):
    paper.title = 'Negatives <b>&</b> "positives"'
    paper.save()
    path = f"{paper.get_absolute_url()}?from=a b&q=<x>"
    cache.clear()
    served = Client().get(path)

    request = rf.get(path)
    request.user = AnonymousUser()
    found, page = paper_pages.find(arxiv_id=paper.arxiv_id, slug="")
    stored = paper_pages.assemble(request, found, page, now=now)
    rendered = render(request, "papers/detail.html", {"paper": found, "stored_page": stored})

    assert served.content.decode() == rendered.content.decode()
    assert served["Content-Type"] == rendered["Content-Type"]
    assert "Negatives &lt;b&gt;&amp;&lt;/b&gt; &quot;positives&quot; · paperhub" in served.content.decode()
    assert f"?next={paper.get_absolute_url()}%3Ffrom%3Da%2520b%26q%3D%253Cx%253E" in served.content.decode()


def test_a_visitors_follow_button_is_the_slot_rendered_for_them(paper, rf):
    path = f'{paper.get_absolute_url()}?from=a b&q=<x>"'
    tag = paper.tags.get()
    request = rf.get(path)
    request.user = AnonymousUser()
    rendered = render_slot("tag_actions", {"request": request, "user": request.user}, tag)

    assert paper_pages._visitor_tag_slot(request, tag) == rendered  # rendered once, then filled
    assert paper_pages._visitor_tag_slot(request, tag) == rendered
    if apps.is_installed("subscriptions"):  # without it, nothing is registered beside a tag
        assert 'value="/papers/2601.00100/?from=a%20b&amp;q=%3Cx%3E%22"' in rendered
        tag.slug = "negations"  # a renamed tag is another button
        assert "#negations" in paper_pages._visitor_tag_slot(request, tag)


def test_a_visitors_cold_page_reads_the_tags_counts_with_the_page(paper, cache_reads):
    response = Client().get(paper.get_absolute_url())

    assert response.status_code == 200
    reads = [keys for keys in cache_reads if keys != [pagecache.GENERATION_KEY]]  # read once a second
    assert len(reads) == 1, reads  # the page and the counts, in one call
    assert paper_pages.TAG_COUNTS_KEY in reads[0] and reads[0][0].startswith("page:")


def test_the_process_keeps_the_tags_counts_until_the_shared_entry_expires(paper, cache_reads, time_machine):
    followers = apps.is_installed("subscriptions")  # without it, no tag counts its followers
    Client().get(paper.get_absolute_url())  # counted, and kept in the shared cache and in the process
    if followers:
        from tests.factories import TagFollowFactory

        TagFollowFactory(tag=paper.tags.get())  # a new follower, counted once the counts expire
    cache_reads.clear()

    time_machine.shift(timedelta(seconds=pagecache.PAGE_SECONDS - 1))
    kept = Client().get(paper.get_absolute_url() + "?kept").content.decode()
    reads = [keys for keys in cache_reads if keys != [pagecache.GENERATION_KEY]]
    time_machine.shift(timedelta(seconds=2))
    counted = Client().get(paper.get_absolute_url() + "?counted").content.decode()

    if followers:
        assert reads == [[reads[0][0]]] and reads[0][0].startswith("page:"), reads  # the page alone
        assert "1 follower" not in kept and "1 follower" in counted
    else:  # nothing to count: read with each page, never there
        assert all(paper_pages.TAG_COUNTS_KEY in keys for keys in reads), reads
