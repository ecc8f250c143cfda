"""The search form's tag filter: its <select> rendered once per set of tags and choice (papers/forms.py)."""

import pytest
from django import forms

from papers.forms import MemoizedSelect, SearchForm
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db


def plain(data) -> str:
    """The tag field as Django's own Select renders it."""
    form = SearchForm(data)
    field = form.fields["tag"]
    field.widget = forms.Select(choices=field.choices)
    if form.is_bound:
        form.is_valid()  # the view validates: an unknown tag is marked invalid
    return str(form["tag"])


@pytest.mark.parametrize("data", [None, {"tag": "nlp"}, {"tag": "no-such-tag"}, {"tag": '"><b>'}])
def test_the_memoized_select_is_the_select_django_renders(data):
    TagFactory(slug="nlp", name="NLP & <speech>")
    TagFactory(slug="vision", name="Vision")
    form = SearchForm(data)
    if form.is_bound:
        form.is_valid()

    assert str(form["tag"]) == plain(data)
    assert str(form["tag"]) == plain(data)  # the second time from the memo: the same


def test_a_new_renamed_or_deactivated_tag_shows_at_once():
    nlp = TagFactory(slug="nlp", name="NLP")
    assert ">NLP</option>" in str(SearchForm()["tag"])

    TagFactory(slug="vision", name="Vision")
    nlp.name = "Language"
    nlp.save()
    html = str(SearchForm()["tag"])
    assert ">Vision</option>" in html and ">Language</option>" in html and ">NLP<" not in html

    nlp.active = False
    nlp.save()
    assert ">Language</option>" not in str(SearchForm()["tag"])


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(MemoizedSelect, "MEMO_SIZE", 3)
    monkeypatch.setattr(MemoizedSelect, "_memo", {})
    TagFactory(slug="nlp", name="NLP")
    for value in ["a", "b", "c", "d", "e"]:
        str(SearchForm({"tag": value})["tag"])
    assert 0 < len(MemoizedSelect._memo) <= 3
