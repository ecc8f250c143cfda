"""The admin as an editorial tool: actions, the import page, tags and rules, who may do what."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from papers.curation import refresh_authors_text
from papers.models import ImportRun, Paper, Tag, TagRule
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
    refresh_authors_text(paper)  # as imports and the admin's save do: the search reads the byline
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


def import_and_follow(client, capture, data):
    """POST the import form; the task runs once the run is committed (eager in unit tests); then its page."""
    with capture(execute=True):
        response = client.post(IMPORT, data)
    assert response.status_code == 302, response.content.decode()[:500]
    run = ImportRun.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[-1])
    return run, client.get(response.url)


def test_import_page_queues_the_upload_and_shows_its_progress(
    curator_client, data_dir, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    assert curator_client.get(IMPORT).status_code == 200
    upload = SimpleUploadedFile("hf.json", (data_dir / "hf_daily_papers_2025-06-02.json").read_bytes())
    run, page = import_and_follow(curator_client, django_capture_on_commit_callbacks, {"file": upload, "draft": "on"})
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert (run.read, run.created, run.updated, run.unchanged, run.skipped) == (20, 20, 0, 0, 0)
    assert Paper.objects.filter(status=Paper.Status.DRAFT).count() == 20
    html = page.content.decode()
    assert "hf.json" in html and "Imported" in html and 'http-equiv="refresh"' not in html
    assert not list(tmp_path.rglob("*.json"))  # the stored upload is gone once read
    assert "hf.json" in curator_client.get(IMPORT).content.decode()  # listed under recent imports


def test_a_running_import_page_refreshes_itself_with_live_counts(curator_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = ImportRun.objects.create(status=ImportRun.Status.RUNNING, file_name="big.xml")
    cache.set(
        f"papers:import-run:{run.pk}:progress",
        {"read": 3000, "created": 2500, "updated": 400, "unchanged": 100, "skipped": 0},
    )
    html = curator_client.get(reverse("admin:papers_paper_import_run", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh" content="2"' in html
    assert "Importing" in html and "<td>3000</td><td>2500</td><td>400</td>" in html


def test_import_page_reports_skipped_entries_and_errors(curator_client, django_capture_on_commit_callbacks):
    content = b'{"title": "One"}\n{"abstract": "no title"}\n'
    capture = django_capture_on_commit_callbacks
    run, page = import_and_follow(curator_client, capture, {"file": SimpleUploadedFile("x.jsonl", content)})
    assert "x.jsonl: line 2: the entry has no title" in page.content.decode()
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.FAILED
    assert Paper.objects.count() == 0
    data = {"file": SimpleUploadedFile("x.jsonl", content), "skip_invalid": "on"}
    run, page = import_and_follow(curator_client, capture, data)
    assert "line 2: the entry has no title" in page.content.decode() and Paper.objects.count() == 1
    assert curator_client.post(IMPORT, {}).context["form"].errors


def test_deeply_nested_json_is_a_clear_error_not_a_500(curator_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("deep.json", b"[" * 3000 + b"]" * 3000)
    run, page = import_and_follow(curator_client, django_capture_on_commit_callbacks, {"file": upload})
    assert page.status_code == 200
    assert "JSON nested deeper than 32 levels" in page.content.decode()
    assert Paper.objects.count() == 0


def test_uploads_above_the_limit_are_refused_with_a_message(curator_client, settings):
    settings.IMPORT_UPLOAD_MAX_MB = 1
    upload = SimpleUploadedFile("big.jsonl", b'{"title": "x"}\n' * 200_000)  # 3 MB
    response = curator_client.post(IMPORT, {"file": upload})
    assert response.status_code == 413
    assert "larger than 1 MB (IMPORT_UPLOAD_MAX_MB)" in response.content.decode()
    assert ImportRun.objects.count() == 0 and Paper.objects.count() == 0


def test_an_oversized_upload_is_refused_before_its_body_is_read_and_csrf_still_guards_the_rest(settings):
    """The refusal comes before the CSRF check, which would parse the whole upload; every other POST is checked."""
    from django.test import Client

    settings.IMPORT_UPLOAD_MAX_MB = 1
    client = Client(enforce_csrf_checks=True)
    client.force_login(CuratorFactory())
    big = SimpleUploadedFile("big.jsonl", b'{"title": "x"}\n' * 200_000)
    response = client.post(IMPORT, {"file": big})
    assert response.status_code == 413 and "IMPORT_UPLOAD_MAX_MB" in response.content.decode()
    small = SimpleUploadedFile("small.jsonl", b'{"title": "x"}\n')
    assert client.post(IMPORT, {"file": small}).status_code == 403  # no token: CSRF refuses it
    assert ImportRun.objects.count() == 0 and Paper.objects.count() == 0


def test_the_form_refuses_a_file_above_the_limit_too(settings):
    from papers.admin import ImportForm

    settings.IMPORT_UPLOAD_MAX_MB = 1
    form = ImportForm({}, {"file": SimpleUploadedFile("big.jsonl", b"x" * (1024 * 1024 + 1))})
    assert not form.is_valid() and "IMPORT_UPLOAD_MAX_MB" in str(form.errors["file"])


def test_import_page_fetches_pasted_arxiv_ids(
    curator_client, arxiv_server, data_dir, django_capture_on_commit_callbacks
):
    arxiv_server.queue((200, (data_dir / "arxiv_atom_old_style_handwritten.xml").read_bytes()))
    run, _ = import_and_follow(curator_client, django_capture_on_commit_callbacks, {"arxiv_ids": "cs/0503050v1"})
    run.refresh_from_db()
    assert run.created == 1
    assert Paper.objects.get().arxiv_id == "cs/0503050"


@pytest.mark.parametrize("failure", ["offline", "http 503", "not atom"])
def test_a_failing_arxiv_api_is_a_message_not_a_traceback(
    curator_client, arxiv_server, settings, django_capture_on_commit_callbacks, failure
):
    if failure == "offline":
        settings.ARXIV_API_URL = "http://127.0.0.1:9/api/query"  # the discard port: nothing answers
    elif failure == "http 503":
        for _ in range(5):
            arxiv_server.queue((503, b"Service Unavailable"))
    else:
        arxiv_server.queue((200, b"<html>not a feed</html>"))
    run, page = import_and_follow(curator_client, django_capture_on_commit_callbacks, {"arxiv_ids": "2101.00001"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "The arXiv API request failed" in html and "Traceback" not in html
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.FAILED
    assert Paper.objects.count() == 0


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
    assert "This regular expression cannot be used: missing )" in response.content.decode()
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
            "categories": ["cs.CL", "cs.IR"],  # the ticked tokens
            "categories_add": "cs.LG, cs.CL",  # and new ones
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
    assert paper.categories == ["cs.CL", "cs.IR", "cs.LG"]


def test_categories_are_tokens_not_a_json_box(curator_client):
    paper = PaperFactory(categories=["cs.CL", "cs.LG"], primary_category="cs.CL")
    html = curator_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="categories" value="cs.CL" id="id_categories_0" checked>', html)
    assert 'name="categories_add"' in html
    assert "[&quot;cs.CL&quot;" not in html and '["cs.CL"' not in html  # no raw JSON


def test_unticking_a_token_removes_it_and_bad_tokens_are_refused():
    from django.http import QueryDict

    from papers.admin_widgets import CategoriesField

    field = CategoriesField(required=False)
    widget = field.widget

    data = QueryDict("categories=cs.CL&categories_add=hep-th+q-bio.NC")
    assert field.clean(widget.value_from_datadict(data, {}, "categories")) == ["cs.CL", "hep-th", "q-bio.NC"]
    data = QueryDict("categories_add=<script>+cs.CL")
    with pytest.raises(Exception, match="Not an arXiv category: <script>"):
        field.clean(widget.value_from_datadict(data, {}, "categories"))


def test_the_paper_list_shortens_long_titles_and_keeps_the_full_one_on_hover(curator_client):
    long_title = "A very long title " * 12
    PaperFactory(title=long_title.strip(), tags=[TagFactory(name="negation")])
    html = curator_client.get(CHANGELIST).content.decode()
    assert f'<span title="{long_title.strip()}">' in html
    assert "…</span>" in html
    assert '<span class="paper-tag-token">negation</span>' in html
    assert "css/admin_papers.css" in html
