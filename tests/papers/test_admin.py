"""The admin as an editorial tool: actions, the import page, tags and rules, who may do what."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from papers.models import Paper, Tag, TagRule
from tests.factories import CuratorFactory, PaperFactory, TagFactory, TagRuleFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:papers_paper_changelist")
IMPORT = reverse("admin:papers_paper_import")


@pytest.fixture
def curator_client(client):
    client.force_login(CuratorFactory())
    return client


@pytest.fixture
def reader_client(client):
    client.force_login(UserFactory())
    return client


def act(client, action: str, papers: list, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in papers], **extra}
    return client.post(CHANGELIST, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_changelist_lists_searches_and_filters(curator_client):
    tag = TagFactory(name="negation")
    paper = PaperFactory(title="Negation in questions", tags=[tag])
    paper.authorships.create(
        author=paper.authors.model.objects.create(name="Ann Lee", name_normalized="ann lee"), position=0
    )
    PaperFactory(title="Something else", status=Paper.Status.DRAFT)
    response = curator_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "Import papers" in response.content.decode()
    assert response.context["cl"].list_per_page == 100
    assert list(curator_client.get(CHANGELIST, {"q": "ann lee"}).context["cl"].result_list) == [paper]
    assert list(curator_client.get(CHANGELIST, {"status__exact": "draft"}).context["cl"].result_list) != [paper]
    assert list(curator_client.get(CHANGELIST, {"tags__id__exact": tag.pk}).context["cl"].result_list) == [paper]
    assert curator_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).status_code == 200


def test_status_and_feature_actions_report_how_many_changed(curator_client):
    drafts = PaperFactory.create_batch(2, status=Paper.Status.DRAFT)
    published = PaperFactory()
    response = act(curator_client, "publish", [*drafts, published])
    assert messages_of(response) == ["2 papers published."]
    assert Paper.objects.published().count() == 3
    assert messages_of(act(curator_client, "hide", [published])) == ["1 paper hidden."]
    assert Paper.objects.get(pk=published.pk).status == Paper.Status.HIDDEN
    assert messages_of(act(curator_client, "feature", drafts)) == ["2 papers featured."]
    assert messages_of(act(curator_client, "feature", drafts)) == ["0 papers featured."]
    assert messages_of(act(curator_client, "unfeature", drafts)) == ["2 papers unfeatured."]
    assert not Paper.objects.featured().exists()


def test_add_and_remove_tags_through_an_intermediate_page(curator_client):
    negation, llm = TagFactory(name="negation"), TagFactory(name="llm")
    papers = [PaperFactory(tags=[negation]), PaperFactory()]
    page = act(curator_client, "add_tags", papers)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/papers/paper/tags_action.html"
    assert 'name="tags"' in page.content.decode()
    assert not Paper.tags.through.objects.filter(tag=llm).exists()

    response = act(curator_client, "add_tags", papers, apply="yes", tags=[negation.pk, llm.pk])
    assert messages_of(response) == ["2 papers gained tags."]
    assert set(papers[1].tags.all()) == {negation, llm}

    response = act(curator_client, "remove_tags", papers[:1], apply="yes", tags=[llm.pk])
    assert messages_of(response) == ["1 paper lost tags."]
    assert list(papers[0].tags.all()) == [negation]


def test_reapply_tag_rules_action(curator_client):
    rule = TagRuleFactory(tag=TagFactory(name="negation"), pattern="negation, negated")
    hit, miss = PaperFactory(title="What negation means"), PaperFactory(title="Unrelated")
    response = act(curator_client, "reapply_tag_rules", [hit, miss])
    assert messages_of(response) == ["1 paper gained tags from the rules."]
    assert list(hit.tags.all()) == [rule.tag] and not miss.tags.exists()


def test_import_page_uploads_a_file(curator_client, data_dir):
    assert curator_client.get(IMPORT).status_code == 200
    upload = SimpleUploadedFile("hf.json", (data_dir / "hf_daily_papers_2025-06-02.json").read_bytes())
    response = curator_client.post(IMPORT, {"file": upload, "draft": "on"})
    assert response.status_code == 200
    (report,) = response.context["reports"]
    assert (report.created, report.updated, report.unchanged, report.skipped) == (20, 0, 0, 0)
    assert Paper.objects.filter(status=Paper.Status.DRAFT).count() == 20
    assert "hf.json" in response.content.decode()


def test_import_page_reports_skipped_entries_and_errors(curator_client):
    content = b'{"title": "One"}\n{"abstract": "no title"}\n'
    response = curator_client.post(IMPORT, {"file": SimpleUploadedFile("x.jsonl", content)})
    assert "x.jsonl: line 2: the entry has no title" in response.context["error"]
    assert Paper.objects.count() == 0
    response = curator_client.post(IMPORT, {"file": SimpleUploadedFile("x.jsonl", content), "skip_invalid": "on"})
    html = response.content.decode()
    assert "line 2: the entry has no title" in html and Paper.objects.count() == 1
    assert curator_client.post(IMPORT, {}).context["form"].errors


def test_import_page_fetches_pasted_arxiv_ids(curator_client, arxiv_server, data_dir):
    arxiv_server.queue((200, (data_dir / "arxiv_atom_old_style_handwritten.xml").read_bytes()))
    response = curator_client.post(IMPORT, {"arxiv_ids": "cs/0503050v1"})
    assert response.context["reports"][0].created == 1
    assert Paper.objects.get().arxiv_id == "cs/0503050"


def test_readers_are_refused(reader_client):
    paper = PaperFactory(status=Paper.Status.DRAFT)
    responses = [
        reader_client.get(IMPORT),
        reader_client.post(IMPORT, {"file": SimpleUploadedFile("x.jsonl", b'{"title": "Sneaky"}\n')}),
        reader_client.post(CHANGELIST, {"action": "publish", ACTION_CHECKBOX_NAME: [paper.pk]}),
    ]
    for response in responses:
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert Paper.objects.get().status == Paper.Status.DRAFT and Paper.objects.count() == 1


def test_staff_without_permissions_cannot_import_or_act(client):
    client.force_login(UserFactory(is_staff=True))
    paper = PaperFactory(status=Paper.Status.DRAFT)
    assert client.get(IMPORT).status_code == 403
    assert client.post(CHANGELIST, {"action": "publish", ACTION_CHECKBOX_NAME: [paper.pk]}).status_code == 403
    assert Paper.objects.get().status == Paper.Status.DRAFT


def test_curators_cannot_manage_users_or_permissions(curator_client):
    for name in ("admin:auth_user_changelist", "admin:auth_group_changelist", "admin:auth_user_add"):
        assert curator_client.get(reverse(name)).status_code == 403
    index = curator_client.get(reverse("admin:index")).content.decode()
    assert "/admin/auth/user/" not in index and "/admin/papers/paper/" in index


def test_tag_admin_shows_paper_counts_and_rules_inline(curator_client):
    tag = TagFactory(name="negation")
    PaperFactory.create_batch(3, tags=[tag])
    TagRuleFactory(tag=tag, pattern="negation")
    response = curator_client.get(reverse("admin:papers_tag_changelist"))
    (row,) = response.context["cl"].result_list
    assert row.paper_count == 3
    html = curator_client.get(reverse("admin:papers_tag_change", args=[tag.pk])).content.decode()
    assert "rules-0-pattern" in html


def test_invalid_regex_is_refused_by_the_admin_form(curator_client):
    tag = TagFactory()
    response = curator_client.post(
        reverse("admin:papers_tagrule_add"), {"tag": tag.pk, "kind": "regex", "pattern": "negat(ion", "active": "on"}
    )
    assert response.status_code == 200
    assert "This regular expression does not compile" in response.content.decode()
    assert not TagRule.objects.exists()


def test_tag_rules_action_applies_to_the_whole_catalogue(curator_client):
    rule = TagRuleFactory(tag=TagFactory(name="negation"), pattern="negation")
    PaperFactory(title="negation everywhere")
    PaperFactory(title="nothing")
    response = curator_client.post(
        reverse("admin:papers_tagrule_changelist"),
        {"action": "apply_to_all_papers", ACTION_CHECKBOX_NAME: [rule.pk]},
        follow=True,
    )
    assert messages_of(response) == ["1 paper gained tags."]
    assert Tag.objects.get(pk=rule.tag_id).papers.count() == 1


def test_editing_the_byline_inline_refreshes_authors_text(curator_client):
    paper = PaperFactory()
    a = paper.authors.model.objects.create(name="Ann Lee", name_normalized="ann lee")
    b = paper.authors.model.objects.create(name="Bo Chen", name_normalized="bo chen")
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    form = curator_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("tags", "submitted_by")}
    data.update(
        {
            "categories": "[]",
            "published_at_0": "2026-01-01",
            "published_at_1": "10:00:00",
            "authorships-TOTAL_FORMS": "2",
            "authorships-INITIAL_FORMS": "0",
            "authorships-0-position": "0",
            "authorships-0-author": b.pk,
            "authorships-1-position": "1",
            "authorships-1-author": a.pk,
        }
    )
    response = curator_client.post(url, data)
    assert response.status_code == 302, re.findall(r"errorlist[^<]*<li>([^<]*)", response.content.decode())
    paper.refresh_from_db()
    assert paper.authors_text == "Bo Chen, Ann Lee"
