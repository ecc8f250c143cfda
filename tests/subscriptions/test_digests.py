from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers import pagecache, vectors
from papers.models import Paper
from papers.trending import log_score
from subscriptions import digests
from subscriptions.digests import choose_items, shorten
from subscriptions.models import Digest
from tests.factories import (
    BookmarkFactory,
    DigestFactory,
    DigestItemFactory,
    DigestSettingsFactory,
    PaperFactory,
    SavedSearchFactory,
    TagFactory,
    TagFollowFactory,
    UpvoteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def paper(now, *, tags, days_old=1, trending=0.0, **kwargs):
    """A paper published (and imported) `days_old` days before `now`, with a week score of `trending` now."""
    stored = log_score(trending, "week", now=now) if trending > 0 else 0.0
    return PaperFactory(published_at=now - timedelta(days=days_old), trending_week=stored, tags=tags, **kwargs)


def titles(items):
    return [item.paper.title for item in items]


def test_candidates_are_recent_published_papers_of_followed_tags(now):
    reader, tag, other = UserFactory(), TagFactory(slug="negation"), TagFactory(slug="other")
    TagFollowFactory(user=reader, tag=tag)
    fresh = paper(now, tags=[tag], title="Fresh", days_old=2)
    paper(now, tags=[tag], title="Too old", days_old=8)
    paper(now, tags=[tag], title="Draft", status=Paper.Status.DRAFT)
    paper(now, tags=[other], title="Unfollowed tag")
    paper(now, tags=[tag], title="Imported today", days_old=100, created_at=now - timedelta(hours=3))
    items = choose_items([reader.pk], now=now)[reader.pk]
    assert set(titles(items)) == {fresh.title, "Imported today"}


def test_weekly_readers_look_back_thirty_days(now):
    reader, tag = UserFactory(), TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, frequency="weekly")
    paper(now, tags=[tag], title="Three weeks old", days_old=21)
    paper(now, tags=[tag], title="Five weeks old", days_old=35)
    assert titles(choose_items([reader.pk], now=now)[reader.pk]) == ["Three weeks old"]


def test_excludes_papers_already_sent_upvoted_or_bookmarked(now):
    reader, tag = UserFactory(), TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    sent, upvoted, bookmarked, failed_before, new = (paper(now, tags=[tag], title=t) for t in "SUBFN")
    DigestItemFactory(digest=DigestFactory(user=reader, status=Digest.Status.SENT), paper=sent)
    DigestItemFactory(digest=DigestFactory(user=reader, status=Digest.Status.FAILED), paper=failed_before)
    UpvoteFactory(user=reader, paper=upvoted)
    BookmarkFactory(user=reader, paper=bookmarked)
    # Another reader's digest does not count.
    DigestItemFactory(digest=DigestFactory(status=Digest.Status.SENT), paper=new)
    assert set(titles(choose_items([reader.pk], now=now)[reader.pk])) == {"F", "N"}


def test_slider_zero_ranks_by_trending_and_one_by_similarity(now):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    liked = PaperFactory(title="Negation in vision language models", abstract="negation benchmark for CLIP models")
    BookmarkFactory(user=reader, paper=liked)
    popular = paper(now, tags=[tag], title="Popular paper about graphs", abstract="graph networks", trending=5.0)
    similar = paper(
        now, tags=[tag], title="Negation benchmark for vision language models", abstract="CLIP negation", trending=1.0
    )
    settings_row = DigestSettingsFactory(user=reader, personalization=0.0)
    vectors.fit(now=now)
    assert titles(choose_items([reader.pk], now=now)[reader.pk]) == [popular.title, similar.title]
    settings_row.personalization = 1.0
    settings_row.save()
    items = choose_items([reader.pk], now=now)[reader.pk]
    assert titles(items) == [similar.title, popular.title]
    assert items[0].reason == "Similar to 'Negation in vision language models' which you bookmarked"


def test_top_n_per_tag(now):
    reader, tag = UserFactory(), TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, papers_per_tag=3, personalization=0.0)
    for score in range(6):
        paper(now, tags=[tag], title=f"score {score}", trending=float(score))
    assert titles(choose_items([reader.pk], now=now)[reader.pk]) == ["score 5", "score 4", "score 3"]


def test_a_paper_in_several_tags_appears_once_under_its_best_tag_naming_the_others(now):
    reader = UserFactory()
    a, b = TagFactory(slug="negation"), TagFactory(slug="sentiment-analysis")
    TagFollowFactory(user=reader, tag=a)
    TagFollowFactory(user=reader, tag=b)
    DigestSettingsFactory(user=reader, papers_per_tag=1, personalization=0.0)
    both = paper(now, tags=[a, b], title="In both", trending=9.0)
    paper(now, tags=[a], title="Only negation", trending=3.0)
    paper(now, tags=[b], title="Only sentiment", trending=1.0)
    items = choose_items([reader.pk], now=now)[reader.pk]
    assert [item.paper.pk for item in items].count(both.pk) == 1
    first = items[0]
    assert first.paper == both and first.tag == a and first.other_tags_text == "#sentiment-analysis"
    # Negation is full with one paper, so sentiment still gets its own best paper.
    assert [(item.paper.title, item.tag.slug) for item in items] == [
        ("In both", "negation"),
        ("Only sentiment", "sentiment-analysis"),
    ]


def test_trending_reason_counts_this_weeks_upvotes(now):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=0.0)
    hot = paper(now, tags=[tag], trending=3.0)
    for _ in range(12):
        UpvoteFactory(paper=hot)
    UpvoteFactory(paper=hot, created_at=now - timedelta(days=8))
    quiet = paper(now, tags=[tag], trending=1.0)
    reasons = {item.paper.pk: item.reason for item in choose_items([reader.pk], now=now)[reader.pk]}
    assert reasons == {hot.pk: "Trending in #negation · 12 upvotes this week", quiet.pk: "New in #negation"}


def test_a_trending_reason_counts_upvotes_up_to_the_number_shown_and_the_dispatch_pool_says_the_same(now, monkeypatch):
    monkeypatch.setattr(digests, "WEEKLY_UPVOTES_SHOWN", 10)
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=0.0)
    hot = paper(now, tags=[tag], trending=3.0)
    for _ in range(12):
        UpvoteFactory(paper=hot)
    warm = paper(now, tags=[tag], trending=2.0)
    for _ in range(10):
        UpvoteFactory(paper=warm)
    expected = ["Trending in #negation · 10+ upvotes this week", "Trending in #negation · 10 upvotes this week"]
    assert [item.reason for item in choose_items([reader.pk], now=now)[reader.pk]] == expected
    # A dispatch's pool counts every candidate's upvotes once; a reader chosen from it reads the same reasons.
    digest = DigestFactory(user=reader)
    pool = digests.pool_for_digests([digest.pk], now=now)
    assert pool.weekly == {hot.pk: 11, warm.pk: 10}
    assert [item.reason for item in choose_items([reader.pk], now=now, pool=pool)[reader.pk]] == expected


def test_each_tags_best_papers_are_the_same_whether_found_by_walking_the_week_score_index_or_not(now, monkeypatch):
    big, small, empty = TagFactory(), TagFactory(), TagFactory()
    for i in range(12):
        # Equal week scores in pairs: ties go to the newer paper, then the higher id.
        paper(now, tags=[big, small] if i % 5 == 0 else [big], trending=float(i // 2), days_old=1 + i % 3)
    paper(now, tags=[small], trending=50.0, days_old=20)  # outside a daily reader's window
    monkeypatch.setattr(digests, "CANDIDATES_PER_TAG", 3)

    def by_window(tag_ids, since):
        monkeypatch.setattr(digests, "TOP_WALKED", 10**6)  # the walk sees the whole window: exact for every tag
        return digests._ranked_in_tags(tag_ids, since=since, now=now)

    for days in (7, 30):
        since = now - timedelta(days=days)
        expected = by_window([big.pk, small.pk, empty.pk], since)
        for walked in (1, 3, 4, 6):  # the big tag's list is full within the walk, the small tag's is not
            monkeypatch.setattr(digests, "TOP_WALKED", walked)
            assert digests._ranked_in_tags([big.pk, small.pk, empty.pk], since=since, now=now) == expected
        assert [pk for tag, pk in expected if tag == big.pk] == list(
            Paper.objects.filter(tags=big, published_at__gte=since)
            .order_by("-trending_week", "-published_at", "-id")
            .values_list("pk", flat=True)[:3]
        )


def test_nothing_to_choose_gives_an_empty_list(now):
    follower, lurker = UserFactory(), UserFactory()
    TagFollowFactory(user=follower, tag=TagFactory())
    assert choose_items([follower.pk, lurker.pk], now=now) == {follower.pk: [], lurker.pk: []}


def test_inactive_tags_are_not_chosen_from(now):
    reader, tag = UserFactory(), TagFactory(active=False)
    TagFollowFactory(user=reader, tag=tag)
    paper(now, tags=[tag])
    assert choose_items([reader.pk], now=now)[reader.pk] == []


def test_shorten_cuts_long_titles_at_a_word():
    assert (
        shorten("SimANS: Simple Ambiguous Negatives Sampling for Dense Text Retrieval")
        == "SimANS: Simple Ambiguous Negatives…"
    )
    assert shorten("Short") == "Short"


def _readers(count, now, tags):
    readers = []
    for _ in range(count):
        reader = UserFactory()
        for tag in tags:
            TagFollowFactory(user=reader, tag=tag)
        DigestSettingsFactory(user=reader)
        UpvoteFactory(user=reader, paper=PaperFactory(tags=tags))
        BookmarkFactory(user=reader, paper=PaperFactory(tags=tags))
        DigestItemFactory(digest=DigestFactory(user=reader, status=Digest.Status.SENT), paper=PaperFactory(tags=tags))
        readers.append(reader.pk)
    return readers


def test_choosing_costs_the_same_queries_for_one_reader_or_a_chunk(now):
    tags = [TagFactory(), TagFactory()]
    for i in range(30):
        paper(now, tags=tags[: 1 + i % 2], trending=float(i))
    one, many = _readers(1, now, tags), _readers(40, now, tags)
    with CaptureQueriesContext(connection) as single:
        choose_items(one, now=now)
    cache.clear()  # the tags' ranked lists, kept by the first call (ranked_candidates)
    with CaptureQueriesContext(connection) as chunk:
        result = choose_items(many, now=now)
    assert all(len(items) == 10 for items in result.values())
    # Settings, follows, searches, sent, upvotes and bookmarks; the window's best papers by week score and their
    # tags (a tag without its full list there: one more); candidates and their tags; stored vectors; the
    # chosen papers' upvotes this week; the titles and vectors of the papers the readers reacted to.
    assert len(chunk) == len(single) <= 12
    # Within RANKED_SECONDS the ranked lists and their candidates are read from the cache, and so are the papers
    # the readers reacted to (a pool of their own's): the two ranking queries, the candidates' rows, tags and
    # vectors and the reacted-to papers' titles and vectors go.
    with CaptureQueriesContext(connection) as cached:
        again = choose_items(many, now=now + timedelta(seconds=30))
    assert {r: [(i.paper.pk, i.tag, i.reason) for i in items] for r, items in again.items()} == {
        r: [(i.paper.pk, i.tag, i.reason) for i in items] for r, items in result.items()
    }
    assert len(cached) == len(chunk) - 6


@pytest.mark.parametrize("first_with_texts", [True, False], ids=["after a dispatch", "after a preview"])
def test_a_pool_reads_the_candidates_of_lists_read_within_ranked_seconds_from_the_cache(now, first_with_texts):
    nlp, vision = TagFactory(slug="nlp"), TagFactory(slug="vision")
    both = paper(now, tags=[nlp, vision], title="Both", abstract="negation vision", trending=2.0)
    papers = [both, *(paper(now, tags=[nlp], title=f"Negation {i}", abstract="negation cues") for i in range(3))]
    vectors.fit(now=now)

    def build(tag_ids, at, with_texts=False):
        return digests.build_pool(tag_ids=tag_ids, specs=[], days=[7], now=at, weekly=False, with_texts=with_texts)

    first = build([nlp.pk, vision.pk], now, with_texts=first_with_texts)
    with CaptureQueriesContext(connection) as queries:
        again = build([nlp.pk], now + timedelta(seconds=30))  # another reader's pool: one of the same lists

    assert len(queries) == 0  # the ranked list and its candidates' rows, tags and vectors from the cache
    assert again.rows == {pk: first.rows[pk] for pk in again.rows} and set(again.rows) == {p.pk for p in papers}
    assert again.paper_tags[both.pk] == {nlp.pk}  # only the followed tags of this pool
    assert all((again.vectors[pk] == first.vectors[pk]).all() for pk in again.rows)

    vectors.fit(now=now)  # a new version: its vectors are read, not the cached ones of the previous one
    with CaptureQueriesContext(connection) as queries:
        refitted = build([nlp.pk], now + timedelta(seconds=60))
    assert len(queries) > 0
    current = vectors.load_vectors([both.pk])
    assert (refitted.vectors[both.pk] == current[both.pk]).all()


def test_ranked_lists_are_shared_for_ranked_seconds_then_ranked_again(now):
    reader, tag = UserFactory(), TagFactory(slug="nlp")
    TagFollowFactory(user=reader, tag=tag)
    SavedSearchFactory(user=reader, query="negation")
    old = paper(now, tags=[tag], title="Old favourite", trending=3.0)
    paper(now, tags=[], title="Negation in CLIP", trending=1.0)
    # The dispatch's pool ranks first and keeps its lists; the preview a minute later reads them.
    pool = digests.build_pool(tag_ids={tag.pk}, specs={("negation", None)}, days={7}, now=now)
    later = now + timedelta(seconds=60)
    new = paper(later, days_old=0, tags=[tag], title="Negation, newly imported", trending=9.0)
    with CaptureQueriesContext(connection) as cached:
        preview = digests.build_pool(tag_ids={tag.pk}, specs={("negation", None)}, days={7}, now=later)
    assert preview.ranked == pool.ranked
    assert len(cached) == 4  # the candidates, their tags, vectors and upvotes this week: no ranking, no matching
    # After RANKED_SECONDS the new paper is in both lists (its tag and its search), best first.
    fresh = digests.build_pool(
        tag_ids={tag.pk}, specs={("negation", None)}, days={7}, now=now + timedelta(seconds=digests.RANKED_SECONDS)
    )
    assert fresh.ranked[(7, "t", tag.pk)] == [new.pk, old.pk]
    assert fresh.ranked[(7, "s", "negation", None)][0] == new.pk
    # A paper hidden since its list was ranked is no candidate, cached list or not.
    Paper.objects.filter(pk=old.pk).update(status=Paper.Status.HIDDEN)
    hidden = digests.build_pool(tag_ids={tag.pk}, specs=set(), days={7}, now=now + timedelta(seconds=190))
    assert hidden.ranked[(7, "t", tag.pk)] == [new.pk]
    # A curator's change or an import (a new page-cache generation) is ranked in at once.
    imported = paper(later, tags=[tag], title="Imported", trending=20.0)
    pagecache.invalidate()
    at_once = digests.build_pool(tag_ids={tag.pk}, specs=set(), days={7}, now=now + timedelta(seconds=191))
    assert at_once.ranked[(7, "t", tag.pk)] == [imported.pk, new.pk]


def test_a_barely_related_profile_does_not_make_a_paper_similar(now):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=1.0)
    # One shared word ("models") in a long unrelated abstract: a cosine of about 0.01.
    unrelated = (
        "Amino acids fold into proteins under thermal stress, chaperones assist folding kinetics, hydrophobic "
        "collapse precedes secondary structure formation, molecular dynamics simulations reveal intermediate "
        "states and misfolding pathways in cells models"
    )
    BookmarkFactory(user=reader, paper=PaperFactory(title="Protein folding dynamics", abstract=unrelated))
    paper(now, tags=[tag], title="Negation in CLIP", abstract="Vision language models ignore negation.")
    vectors.fit(now=now)
    [item] = choose_items([reader.pk], now=now)[reader.pk]
    assert item.reason == "New in #negation"


FILLER = [
    ("Graph neural networks for molecules", "message passing over molecular graphs predicts chemical properties"),
    ("Speech recognition in noisy rooms", "acoustic models for far field microphones and reverberation"),
    ("Protein structure prediction", "amino acid sequences fold into three dimensional structures"),
    ("Image segmentation with transformers", "pixels grouped into objects by attention over patches"),
    ("Reinforcement learning for robot arms", "policies learn grasping from rewards in simulation"),
    ("Time series forecasting of electricity load", "seasonal demand predicted with recurrent networks"),
]


def _blend_setup(now, *, personalization):
    """A tag with a very popular unrelated paper, a barely upvoted paper on negation, and unrelated filler."""
    tag = TagFactory(slug="nlp")
    hot = paper(
        now, tags=[tag], title="Popular paper about graph coloring", abstract="graph coloring heuristics", trending=40.0
    )
    match = paper(
        now,
        tags=[tag],
        title="Negation benchmark for language models",
        abstract="language models ignore negation words such as not and never in questions",
        trending=1.0,
    )
    for title, abstract in FILLER:
        paper(now, tags=[tag], title=title, abstract=abstract, trending=2.0)

    def reader_with(title, abstract):
        reader = UserFactory()
        TagFollowFactory(user=reader, tag=tag)
        DigestSettingsFactory(user=reader, personalization=personalization, papers_per_tag=3)
        BookmarkFactory(user=reader, paper=PaperFactory(title=title, abstract=abstract))
        return reader

    return tag, hot, match, reader_with


def test_a_strong_match_outranks_a_popular_paper_and_says_why(now):
    _, hot, match, reader_with = _blend_setup(now, personalization=0.5)
    strong = reader_with(
        "Negation in language models", "language models and negation words such as not and never in questions"
    )
    vectors.fit(now=now)
    items = choose_items([strong.pk], now=now)[strong.pk]
    assert [item.paper for item in items[:2]] == [match, hot]
    assert items[0].reason == "Similar to 'Negation in language models' which you bookmarked"
    assert items[1].reason == "New in #nlp"


def test_a_weak_match_does_not_outrank_a_popular_paper_nor_claim_similarity(now):
    _, hot, match, reader_with = _blend_setup(now, personalization=0.5)
    # One word in common with the negation paper ("questions"), nothing else.
    weak = reader_with("Answering questions about tables", "spreadsheet cells parsed into structured queries questions")
    vectors.fit(now=now)
    items = choose_items([weak.pk], now=now)[weak.pk]
    assert items[0].paper == hot
    assert not any(item.reason.startswith("Similar to") for item in items)


def test_personal_terms_are_on_a_fixed_scale_not_divided_by_the_best():
    import numpy as np

    from subscriptions.digests import similarity_terms

    # 200 candidates alike, the best a hair closer: it gets a small term, not 1.
    weak = similarity_terms(np.array([0.30] * 199 + [0.31]))
    assert weak.max() == pytest.approx(0.2) and weak[:199].max() == 0.0
    # Sparse text (most cosines near 0.02): a best candidate at 0.045 stands out, but is still a weak match.
    rng = np.random.default_rng(0)
    sparse = similarity_terms(np.append(rng.normal(0.02, 0.005, 199), 0.045))
    assert sparse[-1] == pytest.approx(0.5, abs=0.05)
    strong = similarity_terms(np.array([0.30] * 199 + [0.60]))
    assert strong.max() == 1.0 and strong[:199].max() == 0.0
    # One or two candidates have no typical one: they are compared with COS_NONE.
    assert similarity_terms(np.array([0.075])).tolist() == [pytest.approx(0.5)]


def test_a_reader_with_no_reactions_gets_the_tags_trending_order_at_any_slider(now):
    reader, tag = UserFactory(), TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=1.0)
    paper(now, tags=[tag], title="Newest but quiet", days_old=0, trending=1.0)
    paper(now, tags=[tag], title="Hot", days_old=3, trending=9.0)
    paper(now, tags=[tag], title="Warm", days_old=2, trending=4.0)
    vectors.fit(now=now)
    assert titles(choose_items([reader.pk], now=now)[reader.pk]) == ["Hot", "Warm", "Newest but quiet"]


def test_without_vectors_choosing_falls_back_to_trending(now):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=1.0)
    BookmarkFactory(user=reader, paper=PaperFactory(title="Negation in language models", abstract="not never"))
    paper(now, tags=[tag], title="Negation benchmark", abstract="not never no", trending=1.0)
    paper(now, tags=[tag], title="Graphs", abstract="nodes and edges", trending=6.0)
    # Before the first fit: no vector anywhere.
    items = choose_items([reader.pk], now=now)[reader.pk]
    assert titles(items) == ["Graphs", "Negation benchmark"]
    assert [item.reason for item in items] == ["New in #negation", "New in #negation"]
    # After a fit, a paper imported since has no vector yet: it is still chosen, on its trending term.
    vectors.fit(now=now)
    late = paper(now, tags=[tag], title="Late negation paper", abstract="not never no", trending=3.0)
    # (A new paper reaches the tag's ranked candidates within RANKED_SECONDS: ranked_candidates.)
    items = choose_items([reader.pk], now=now + timedelta(seconds=digests.RANKED_SECONDS))[reader.pk]
    assert titles(items)[0] == "Negation benchmark" and late.title in titles(items)
    assert next(item for item in items if item.paper == late).reason == "New in #negation"


def test_a_reader_gets_the_same_digest_alone_or_in_any_chunk(now):
    tags = [TagFactory(), TagFactory(), TagFactory()]
    for i, (title, abstract) in enumerate(FILLER * 3):
        paper(
            now,
            tags=tags[i % 2 : i % 3 + 1],
            title=f"{title} {i}",
            abstract=abstract,
            trending=float(i % 5),
            days_old=i % 6,
        )
    readers = []
    for i, (title, abstract) in enumerate(FILLER):
        reader = UserFactory()
        for tag in tags[: 1 + i % 3]:
            TagFollowFactory(user=reader, tag=tag)
        DigestSettingsFactory(user=reader, personalization=i / 5, papers_per_tag=2 + i % 3)
        BookmarkFactory(user=reader, paper=PaperFactory(title=title, abstract=abstract, tags=tags[:1]))
        readers.append(reader.pk)
    vectors.fit(now=now)

    def picks(result, reader):
        return [(item.paper.pk, item.tag.pk, item.reason) for item in result[reader]]

    together = choose_items(readers, now=now)
    halves = choose_items(readers[::2], now=now) | choose_items(readers[1::2], now=now)
    for reader in readers:
        alone = choose_items([reader], now=now)
        assert picks(alone, reader) == picks(together, reader) == picks(halves, reader)
    assert all(together[reader] for reader in readers)


def test_a_readers_pool_is_reused_over_the_same_lists_and_chooses_as_a_fresh_one(now, cache_reads):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, personalization=0.5, papers_per_tag=3)
    edge = now - timedelta(days=7) + timedelta(seconds=50)  # leaves the 7-day window 50 s from now
    leaving = PaperFactory(
        title="Negation cues leaving", abstract="negation cues", tags=[tag], published_at=edge, created_at=edge
    )
    Paper.objects.filter(pk=leaving.pk).update(trending_week=log_score(30.0, "week", now=now))
    for i in range(4):
        paper(now, tags=[tag], title=f"Negation scope {i}", abstract="negation scope and cues", trending=float(i))
    BookmarkFactory(user=reader, paper=PaperFactory(title="Negation in CLIP", abstract="negation cues", tags=[]))
    vectors.fit(now=now)

    def chosen(at):
        return [(i.paper.pk, i.tag, i.reason, i.score) for i in choose_items([reader.pk], now=at)[reader.pk]]

    first = chosen(now)
    assert leaving.pk in [pk for pk, *_ in first]
    later = now + timedelta(seconds=100)
    cache_reads.clear()
    with CaptureQueriesContext(connection) as queries:
        reused = chosen(later)
    # The pool kept from the first: neither the candidates' facts nor the reader's bookmarked paper read again.
    assert not any("digest-facts" in key for keys in cache_reads for key in keys)
    assert "papers_papervector" not in " ".join(query["sql"] for query in queries.captured_queries)
    # Moved to its own `now`: the paper that left the window is gone, the trending terms are those of `later`.
    assert leaving.pk not in [pk for pk, *_ in reused]
    digests._OWN_POOLS.clear()
    assert chosen(later) == reused  # what a pool built afresh from the shared cache chooses

    # Lists ranked again (a curator's change, the cache emptied, RANKED_SECONDS gone by): built afresh.
    for seconds, change in ((1, pagecache.invalidate), (2, cache.clear)):
        chosen(later + timedelta(seconds=seconds))
        change()
        cache_reads.clear()
        chosen(later + timedelta(seconds=seconds))
        assert any("digest-facts" in key for keys in cache_reads for key in keys)
    chosen(later)
    cache_reads.clear()
    chosen(now + timedelta(seconds=100 + digests.RANKED_SECONDS))
    assert any("digest-facts" in key for keys in cache_reads for key in keys)


def test_the_papers_readers_reacted_to_are_shared_by_pools_of_their_own_for_ranked_seconds(now):
    negation, vision = TagFactory(slug="negation"), TagFactory(slug="vision")
    liked = PaperFactory(title="Negation in CLIP", abstract="vision language models ignore negation", tags=[])
    readers = []
    for tag in (negation, vision):  # different lists: each reader's pool is built afresh
        reader = UserFactory()
        TagFollowFactory(user=reader, tag=tag)
        DigestSettingsFactory(user=reader, personalization=1.0)
        BookmarkFactory(user=reader, paper=liked)
        paper(now, tags=[tag], title=f"Negation benchmark for {tag.slug}", abstract="negation benchmark for CLIP")
        readers.append(reader)
    vectors.fit(now=now)

    def choose_for(reader, at):
        with CaptureQueriesContext(connection) as queries:
            [item] = choose_items([reader.pk], now=at)[reader.pk]
        # Whether the bookmarked paper's title and vector were read (the candidates' own facts aside).
        return item, any(f'"papers_paper"."id" IN ({liked.pk})' in query["sql"] for query in queries.captured_queries)

    first, read = choose_for(readers[0], now)
    assert read and first.reason == "Similar to 'Negation in CLIP' which you bookmarked"
    second, read = choose_for(readers[1], now + timedelta(seconds=30))
    assert not read and second.reason == first.reason  # its title and vector from the shared cache
    vectors.fit(now=now)  # a new model (and generation): its vectors are read
    _, read = choose_for(readers[1], now + timedelta(seconds=60))
    assert read
