"""Paper vectors: fitted once, stored per version, given at import, read by similar papers and profiles."""

import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection

from papers import vectors
from papers.demo import seed_records
from papers.importers.records import PaperRecord
from papers.importers.service import import_records
from papers.models import Paper, PaperVector, TextModel
from papers.similarity import similar_papers
from tests.factories import BookmarkFactory, PaperFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db


def seed_catalogue():
    import_records(seed_records(), source="seed")
    return {paper.title: paper for paper in Paper.objects.all()}


def vector_of(paper, version=None):
    version = version or vectors.current_version()
    return vectors.from_bytes(PaperVector.objects.get(paper=paper, version=version).vector)


def test_fit_stores_a_normalized_vector_for_every_published_paper(now):
    published = [PaperFactory(title=f"Dense retrieval {i}", abstract="negative sampling") for i in range(3)]
    draft = PaperFactory(title="Dense retrieval draft", status=Paper.Status.DRAFT)
    version = vectors.fit(now=now)
    assert version.status == TextModel.Status.CURRENT and version.paper_count == 3
    assert set(PaperVector.objects.filter(version=version).values_list("paper_id", flat=True)) == {
        p.pk for p in published
    }
    assert not PaperVector.objects.filter(paper=draft).exists()
    vector = vector_of(published[0])
    assert vector.dtype == np.float32 and len(vector) == version.dimensions
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_seed_papers_similar_papers_stay_on_their_topic(now):
    papers = seed_catalogue()
    vectors.fit(now=now)

    def on_topic(title, words):
        similar = similar_papers(papers[title])
        assert len(similar) == 5
        hits = [p for p in similar if any(w in (p.title + " " + p.abstract).lower() for w in words)]
        return len(hits)

    sentiment = "FinnSentiment -- A Finnish Social Media Corpus for Sentiment Polarity Annotation"
    assert on_topic(sentiment, ["sentiment", "polarity"]) >= 4
    retrieval = "SimANS: Simple Ambiguous Negatives Sampling for Dense Text Retrieval"
    assert on_topic(retrieval, ["retriev", "rank", "negative sampling"]) >= 4
    negation = "This is not a Dataset: A Large Negation Benchmark to Challenge Large Language Models"
    assert on_topic(negation, ["negation"]) >= 3


def test_the_same_pair_has_the_same_similarity_whatever_else_is_asked(now):
    a = PaperFactory(title="Negation in language models", abstract="models fail on not")
    b = PaperFactory(title="Negation benchmark", abstract="not and never in language models")
    c = PaperFactory(title="Sentiment of reviews", abstract="polarity lexicons")
    vectors.fit(now=now)
    alone = vectors.best_matches(vectors.load_vectors([a.pk, b.pk]), [a.pk], [b.pk])
    batch = vectors.best_matches(vectors.load_vectors([a.pk, b.pk, c.pk]), [c.pk, a.pk], [c.pk, b.pk])
    assert batch[1] == (pytest.approx(alone[0][0]), 1)


def test_an_interrupted_fit_leaves_the_previous_version_in_use(now, monkeypatch):
    paper = PaperFactory(title="Negation in language models", abstract="not")
    close = PaperFactory(title="Negation benchmark for language models", abstract="not never")
    first = vectors.fit(now=now)
    assert [p.pk for p in similar_papers(paper)] == [close.pk]

    def killed(matrix, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(vectors, "nearest_neighbours", killed)
    with pytest.raises(SystemExit):
        vectors.fit(now=now)
    assert TextModel.objects.current().get() == first
    assert TextModel.objects.filter(status=TextModel.Status.FITTING).count() == 1
    assert [p.pk for p in similar_papers(paper)] == [close.pk]

    monkeypatch.undo()
    second = vectors.fit(now=now)
    assert list(TextModel.objects.values_list("pk", "status")) == [(second.pk, TextModel.Status.CURRENT)]
    assert PaperVector.objects.filter(version=first).count() == 0


def test_an_imported_paper_gets_its_vector_from_the_current_model_in_the_same_job(now):
    seed_catalogue()
    version = vectors.fit(now=now)
    record = seed_records()[0]
    record.title, record.abstract = "Sentiment polarity of Finnish tweets", "A sentiment analysis corpus."
    record.position = "new"
    report = import_records([record], source="new")
    assert report.created == 1
    new = Paper.objects.get(title="Sentiment polarity of Finnish tweets")
    assert PaperVector.objects.filter(paper=new, version=version).exists()
    sentiment = Paper.objects.get(title__startswith="FinnSentiment")
    retrieval = Paper.objects.get(title__startswith="SimANS")
    assert float(vector_of(new) @ vector_of(sentiment)) > float(vector_of(new) @ vector_of(retrieval))


def test_import_before_the_first_fit_loads_no_model():
    import_records(seed_records()[:3], source="seed")
    assert not PaperVector.objects.exists()


def test_update_refits_when_the_catalogue_grew_and_otherwise_fills_gaps(now):
    for i in range(20):
        PaperFactory(title=f"Negation {i}", abstract="not never")
    assert vectors.update(now=now) == "fitted"
    PaperFactory(title="Negation late", abstract="not")  # 10 % more is a refit, one more paper is not
    assert vectors.update(now=now) == "assigned 1"
    assert vectors.update(now=now) == "assigned 0"
    for i in range(2):
        PaperFactory(title=f"Negation later {i}", abstract="not")
    assert vectors.update(now=now) == "fitted"
    assert TextModel.objects.get().paper_count == 23


def test_profile_vector_weighs_bookmarks_over_upvotes_and_recent_over_old(now):
    negation = PaperFactory(title="Negation in language models", abstract="not never no")
    sentiment = PaperFactory(title="Sentiment of product reviews", abstract="polarity lexicons opinion")
    PaperFactory(title="Graph neural networks", abstract="message passing")
    vectors.fit(now=now)
    reader, other, third = UserFactory(), UserFactory(), UserFactory()
    BookmarkFactory(user=reader, paper=negation, created_at=now)
    UpvoteFactory(user=reader, paper=sentiment, created_at=now)
    UpvoteFactory(user=other, paper=negation, created_at=now - timedelta(days=360))
    UpvoteFactory(user=other, paper=sentiment, created_at=now)
    profiles = vectors.profile_vectors([reader.pk, other.pk, third.pk], now=now)
    assert third.pk not in profiles
    neg, sent = vector_of(negation), vector_of(sentiment)
    assert float(profiles[reader.pk] @ neg) > float(profiles[reader.pk] @ sent)
    assert float(profiles[other.pk] @ sent) > float(profiles[other.pk] @ neg)
    assert float(np.linalg.norm(profiles[reader.pk])) == pytest.approx(1.0, abs=1e-5)
    assert vectors.reaction_weight("bookmark", now, now=now) == 2 * vectors.reaction_weight("upvote", now, now=now)
    assert vectors.reaction_weight("upvote", now - timedelta(days=90), now=now) == pytest.approx(0.5)


def test_candidates_without_a_vector_compare_as_zero(now):
    a = PaperFactory(title="Negation in language models", abstract="not")
    b = PaperFactory(title="Negation benchmark", abstract="not")
    vectors.fit(now=now)
    late = PaperFactory(title="Negation late", abstract="not")
    matches = vectors.best_matches(vectors.load_vectors([a.pk, b.pk, late.pk]), [a.pk], [b.pk, late.pk])
    assert matches[0][0] > 0 and matches[0][1] == 0
    assert matches[1] == (0.0, -1)
    assert vectors.best_matches({}, [a.pk], [b.pk]) == [(0.0, -1)]


def test_no_text_no_model():
    PaperFactory(title="the and of", abstract="a the")
    with pytest.raises(vectors.NoModel):
        vectors.fit(now=None)
    assert vectors.current_version() is None


def test_web_process_never_imports_scikit_learn_or_numpy():
    code = (
        "import sys, django; django.setup(); import paperhub.urls, paperhub.wsgi; "
        "from django.test import Client; "
        "bad = [m for m in ('sklearn', 'numpy', 'scipy') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_retexted_paper_gets_a_new_vector_and_new_neighbours(now):
    paper = PaperFactory(title="Negation in language models", abstract="not")
    close = PaperFactory(title="Negation benchmark for language models", abstract="not never")
    reviews = PaperFactory(title="Polarity of product reviews", abstract="sentiment polarity of reviews")
    vectors.fit(now=now)
    before = vector_of(paper)
    assert vectors.similar_ids(paper.pk)[0] == close.pk
    Paper.objects.filter(pk=paper.pk).update(title="Sentiment of product reviews", abstract="polarity")
    assert vectors.assign_vectors([paper.pk]) == 1
    assert not np.allclose(vector_of(paper), before)
    assert vectors.similar_ids(paper.pk)[0] == reviews.pk  # compared with its new text, not its old one
    assert paper.pk not in vectors.similar_ids(paper.pk)


def test_a_paper_imported_between_fits_gets_its_similar_papers_in_the_same_job(now):
    papers = seed_catalogue()
    vectors.fit(now=now)
    sentiment = papers["FinnSentiment -- A Finnish Social Media Corpus for Sentiment Polarity Annotation"]
    before = vectors.similar_ids(sentiment.pk)
    records = [
        PaperRecord(
            title="Sentiment polarity of Finnish tweets",
            abstract="A corpus of social media posts annotated for sentiment polarity: positive, negative, neutral.",
            arxiv_id="2612.00001",
            published_at=now,
        ),
        PaperRecord(
            title="Polarity annotation of social media sentiment",
            abstract="Annotating the sentiment polarity of social media posts, with a new Finnish corpus.",
            arxiv_id="2612.00002",
            published_at=now,
        ),
    ]
    import_records(records, source="test")
    first, second = Paper.objects.get(arxiv_id="2612.00001"), Paper.objects.get(arxiv_id="2612.00002")
    similar = vectors.similar_ids(first.pk)
    assert len(similar) == vectors.NEIGHBOURS and first.pk not in similar
    assert second.pk in similar  # a paper of the same batch counts
    assert sentiment.pk in similar[:3]
    on_topic = Paper.objects.filter(pk__in=similar[:5], abstract__iregex=r"sentiment|polarity").count()
    assert on_topic >= 4
    assert vectors.similar_ids(sentiment.pk) == before  # older papers' lists change at the next fit
    assert [p.pk for p in similar_papers(first)][:1] in ([second.pk], [sentiment.pk])
    # The next import in the same process reads only the vectors stored since, these two among them.
    import_records(
        [PaperRecord(title=first.title + ", again", abstract=first.abstract, arxiv_id="2612.00003", published_at=now)],
        source="test",
    )
    third = Paper.objects.get(arxiv_id="2612.00003")
    assert vectors.similar_ids(third.pk)[0] == first.pk


def test_the_query_model_transforms_as_the_fitted_model_does_without_scikit_learn(now):
    PaperFactory(title="Negation in language models", abstract="Models fail on negated questions, not on others.")
    PaperFactory(title="Sentiment of product reviews", abstract="Polarity of reviews, positive and negative.")
    PaperFactory(title="Dense retrieval with hard negatives", abstract="Negative sampling for retrievers.")
    version = vectors.fit(now=now)
    model = vectors.query_model(version)
    assert model.version_id == version.pk  # search reads this version's stored vectors by its id
    texts = ["negation language models", "hard negatives for dense retrievers", "Reviews! reviews, REVIEWS", "zzz"]
    assert np.allclose(model.transform(texts), vectors.load_transform(version).transform(texts), atol=1e-5)
    assert not model.transform(["zzz the of"]).any()  # no known word: a zero vector
    again = vectors.QueryModel.from_bytes(model.to_bytes())
    assert again.terms == model.terms and again.stop_words == model.stop_words
    assert np.array_equal(again.components, model.components)
    assert model.idf_of("negation") > 0 and model.idf_of("unknownword") is None


def test_spelling_finds_the_closest_common_word_of_the_vocabulary(now):
    PaperFactory(title="Dense retrieval", abstract="Retrieval of passages; retrieval again. Embedding models.")
    PaperFactory(title="Retrieval augmented generation", abstract="Retrieval, embedding.")
    model = vectors.query_model(vectors.fit(now=now))
    assert model.spelling("retreival") == "retrieval"  # two letters swapped
    assert model.spelling("embeding") == "embedding"  # one left out
    assert model.spelling("zebra") is None
    assert model.spelling("ab") is None  # too short to guess
    assert vectors.edit_distance("retreival", "retrieval", 2) == 1
    assert vectors.edit_distance("abcdef", "uvwxyz", 2) == 3  # cut off past the limit


def test_reader_profile_from_loaded_vectors_is_the_same_whatever_else_is_loaded(now):
    a = PaperFactory(title="Negation in language models", abstract="not never no")
    b = PaperFactory(title="Sentiment of product reviews", abstract="polarity lexicons opinion")
    c = PaperFactory(title="Graph neural networks", abstract="message passing")
    vectors.fit(now=now)
    few = vectors.load_vectors([a.pk, b.pk])
    many = vectors.load_vectors([c.pk, b.pk, a.pk])
    reactions = [(b.pk, "upvote", now), (a.pk, "bookmark", now)]
    alone = vectors.build_profile(reactions, few, now=now)
    again = vectors.build_profile(list(reversed(reactions)), many, now=now)
    assert np.array_equal(alone.vector, again.vector) and alone.ids == again.ids == sorted([a.pk, b.pk])
    assert float(np.linalg.norm(alone.vector)) == pytest.approx(1.0, abs=1e-5)
    assert float(alone.vector @ vector_of(a)) > float(alone.vector @ vector_of(b)) > float(alone.vector @ vector_of(c))
    assert vectors.build_profile([(c.pk, "upvote", now)], few, now=now) is None
    assert vectors.build_profile(reactions, {}, now=now) is None


def test_the_digest_profile_is_the_pages_profile_vector_with_the_reactions_age(now, monkeypatch):
    negation = PaperFactory(title="Negation in language models", abstract="not never no")
    sentiment = PaperFactory(title="Sentiment of product reviews", abstract="polarity lexicons opinion")
    graphs = PaperFactory(title="Graph neural networks", abstract="message passing")
    close = PaperFactory(title="Negation benchmark for language models", abstract="not never no questions")
    vectors.fit(now=now)
    reader = UserFactory()
    BookmarkFactory(user=reader, paper=negation, created_at=now - timedelta(days=200))
    UpvoteFactory(user=reader, paper=negation, created_at=now)
    UpvoteFactory(user=reader, paper=sentiment, created_at=now - timedelta(days=90))
    UpvoteFactory(user=reader, paper=graphs, created_at=now)
    loaded = vectors.load_vectors([negation.pk, sentiment.pk, graphs.pk, close.pk])
    reactions = [
        (negation.pk, "bookmark", now - timedelta(days=200)),
        (negation.pk, "upvote", now),
        (sentiment.pk, "upvote", now - timedelta(days=90)),
        (graphs.pk, "upvote", now),
    ]
    profile = vectors.build_profile(reactions, loaded, now=now)
    # One definition: the digest's profile vector is the one profile_vectors gives (weights, age, both reactions).
    assert np.allclose(profile.vector, vectors.profile_vectors([reader.pk], now=now)[reader.pk], atol=1e-6)
    assert profile.ids == sorted([negation.pk, sentiment.pk, graphs.pk])
    weights = dict(zip(profile.ids, profile.weights.tolist(), strict=True))
    assert weights[negation.pk] == pytest.approx(2 * 0.5 ** (200 / 90) + 1)
    assert weights[sentiment.pk] == pytest.approx(0.5) and weights[graphs.pk] == pytest.approx(1.0)
    assert profile.closest(loaded[close.pk])[0] == negation.pk
    # Closeness: the cosine to the profile vector, less for a candidate more typical of the candidates than
    # their median (a lone candidate is its own median: its raw cosine) ...
    three = np.vstack([loaded[close.pk], loaded[negation.pk], loaded[graphs.pk]])
    typical = three.sum(axis=0) / np.linalg.norm(three.sum(axis=0))
    typicality = three @ typical
    untypical = vectors.TYPICAL_WEIGHT * (typicality - np.median(typicality))
    first = three @ profile.vector - untypical
    # ... then the same with the profile vector moved towards the FEEDBACK_PAPERS (2) candidates closest at
    # first, each of those two measured with the other one only.
    assert vectors.FEEDBACK_PAPERS == 2
    top, second = np.argsort(-first, kind="stable")[:2]

    def moved(*rows):
        towards = three[list(rows)].sum(axis=0)
        vector = profile.vector + vectors.FEEDBACK_WEIGHT * towards / np.linalg.norm(towards)
        return vector / np.linalg.norm(vector)

    expected = three @ moved(top, second) - untypical
    expected[top] = three[top] @ moved(second) - untypical[top]
    expected[second] = three[second] @ moved(top) - untypical[second]
    assert np.allclose(profile.closeness(three), expected, atol=1e-5)
    monkeypatch.setattr(vectors, "FEEDBACK_WEIGHT", 0.0)
    assert np.allclose(profile.closeness(three), first, atol=1e-5)
    candidates = np.vstack([loaded[close.pk]])
    assert profile.closeness(candidates)[0] == pytest.approx(float(loaded[close.pk] @ profile.vector), abs=1e-6)


def test_closeness_moves_the_profile_towards_the_readers_closest_candidates(now, monkeypatch):
    def unit(*values):
        vector = np.asarray(values, dtype=np.float32)
        return vector / np.linalg.norm(vector)

    # Dimensions: the reader's own words, the rest of their topic's words, the followed tag's words, two others.
    own = {1: unit(1, 0, 0.2, 0, 0)}
    profile = vectors.build_profile([(1, "bookmark", now)], own, now=now)
    candidates = np.vstack(
        [
            unit(1, 1, 1, 0, 0),  # the reader's words and the topic's: the closest two
            unit(0.8, 1, 1, 0, 0),
            unit(0.1, 1, 0.3, 0, 0),  # the topic's words, hardly the reader's own
            unit(0.2, 0, 1, 1, 0),  # one of the reader's words, off the topic
            unit(0, 0, 1, 1, 0),
            unit(0, 0, 1, 0, 1),
            unit(0, 0, 1, 0.5, 0.5),
        ]
    )
    on_topic, off_topic = 2, 3
    moved = profile.closeness(candidates)
    assert moved[on_topic] > moved[off_topic]
    assert set(np.argsort(-moved)[:2].tolist()) == {0, 1}
    # Without the feedback the paper sharing a word with the reader's comes first.
    monkeypatch.setattr(vectors, "FEEDBACK_WEIGHT", 0.0)
    first = profile.closeness(candidates)
    assert first[on_topic] < first[off_topic]


@pytest.mark.postgres
def test_a_fit_on_postgresql_leaves_statistics_for_its_vectors(now):
    # Without them the planner may read every stored vector to find the thousand relaxed search asks for.
    PaperFactory.create_batch(3)
    vectors.fit(now=now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [PaperVector._meta.db_table])
        assert cursor.fetchone()[0] == 3
