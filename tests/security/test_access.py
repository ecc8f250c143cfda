"""Who may see what. More rules (another reader's bookmarks and digest settings,
unsubscribe tokens) join this file as those pages arrive."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import StaffFactory


def admin_urls(site) -> list[str]:
    """Every admin page: the index, each app, and each registered model's list, add, change and delete."""
    urls = [reverse("admin:index")]
    objects = {"paper": site.paper, "tag": site.tag}
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse("admin:app_list", args=[meta.app_label]))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        if meta.model_name in objects:
            pk = objects[meta.model_name].pk
            for view in ("change", "delete", "history"):
                urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[pk]))
    urls.append(reverse("admin:papers_paper_import"))
    return sorted(set(urls))


@pytest.mark.parametrize("who", ["visitor", "reader"])
def test_non_staff_get_nothing_from_the_admin(client, site, who):
    if who == "reader":
        client.force_login(site.reader)
    urls = admin_urls(site)
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
        assert site.paper.title.encode() not in response.content

    # The login page itself lists no app, model or object.
    body = client.get("/admin/login/?next=/admin/").content.decode()
    assert site.paper.title not in body
    assert "Papers" not in body and "papers/paper" not in body


def test_non_staff_cannot_change_anything_through_the_admin(client, site):
    client.force_login(site.reader)
    url = reverse("admin:papers_paper_change", args=[site.paper.pk])
    response = client.post(url, {"title": "Defaced", "status": "hidden"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.post(reverse("admin:papers_paper_delete", args=[site.paper.pk]), {"post": "yes"})
    assert response.status_code == 302
    site.paper.refresh_from_db()
    assert site.paper.title == "Negation in large language models"
    assert site.paper.status == "published"


def test_a_reader_cannot_log_into_the_admin_with_a_good_password(client, site):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": site.reader.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_staff_do_get_the_admin(client, db):
    """The rule above is about staff status, not a broken admin."""
    client.force_login(StaffFactory())
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/papers/paper/").status_code == 200


def test_visitors_do_not_see_drafts(client, site):
    assert client.get(f"/papers/{site.draft.slug}/").status_code == 404
    client.force_login(site.reader)
    assert client.get(f"/papers/{site.draft.slug}/").status_code == 404
    body = client.get("/search/?q=unpublished").content.decode()
    assert site.draft.title not in body


def test_a_reader_sees_only_their_own_bookmarks(client, site):
    client.force_login(site.reader)
    for query in ["", f"?user={site.other_reader.pk}", f"?user_id={site.other_reader.pk}", "?email=other@example.org"]:
        body = client.get(f"/me/bookmarks/{query}").content.decode()
        assert site.paper.title in body
        assert site.paper_without_arxiv.title not in body  # the other reader's bookmark
    client.force_login(site.other_reader)
    body = client.get("/me/bookmarks/").content.decode()
    assert site.paper_without_arxiv.title in body and site.paper.title not in body


@pytest.mark.parametrize("path", ["/me/bookmarks/", "/for-you/"])
def test_visitors_are_asked_to_log_in_for_personal_pages(client, site, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_reactions_need_a_reader_and_change_only_their_own_rows(client, site):
    from papers.models import Bookmark

    response = client.post(f"/papers/{site.paper.pk}/bookmark/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(site.other_reader)
    # Toggling a paper the *other* reader bookmarked adds their own row; the reader's stays.
    client.post(f"/papers/{site.paper.pk}/bookmark/")
    assert Bookmark.objects.filter(user=site.reader, paper=site.paper).exists()
    assert Bookmark.objects.filter(user=site.other_reader, paper=site.paper).exists()


def test_digest_settings_are_the_readers_own(client, site):
    from subscriptions.models import DigestSettings

    client.force_login(site.other_reader)
    body = client.get(f"/settings/digest/?user={site.reader.pk}").content.decode()
    assert "#negation" not in body  # the reader's follow is not shown to the other reader
    response = client.post(
        f"/settings/digest/?user={site.reader.pk}",
        {
            "user": site.reader.pk,
            "frequency": "off",
            "delivery_hour": "3",
            "timezone": "UTC",
            "papers_per_tag": "5",
            "personalization": "0.5",
        },
    )
    assert response.status_code == 302
    assert DigestSettings.objects.get(user=site.reader).delivery_hour == 7  # untouched
    assert DigestSettings.objects.get(user=site.other_reader).frequency == "off"  # their own, saved
    # Unfollowing through the settings form only ever touches the requester's own follows.
    client.post("/settings/digest/", {"unfollow": site.tag.slug})
    assert site.reader.tag_follows.filter(tag=site.tag).exists()


@pytest.mark.parametrize("path", ["/settings/digest/", "/settings/digest/preview/"])
def test_visitors_get_no_digest_settings_or_preview(client, site, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_unsubscribe_token_only_ever_unsubscribes_its_own_reader(client, site):
    from django.core import signing

    from subscriptions.models import DigestSettings
    from subscriptions.unsubscribe import SALT, make_token

    DigestSettings.objects.create(user=site.other_reader)
    token = make_token(user_id=site.reader.pk)
    assert client.post(f"/unsubscribe/{token}/").status_code == 200
    assert DigestSettings.objects.get(user=site.reader).frequency == "off"
    assert DigestSettings.objects.get(user=site.other_reader).frequency == "daily"

    payload, _, signature = token.partition(":")
    other_payload = signing.dumps({"u": site.other_reader.pk}, salt=SALT).partition(":")[0]
    forged = [
        f"{other_payload}:{signature}",  # another reader's id under this token's signature
        signing.dumps({"u": site.other_reader.pk}),  # signed, but not as an unsubscribe token (no salt)
        signing.dumps({"u": site.other_reader.pk}, salt="another.salt"),
        signing.dumps({"u": str(site.other_reader.pk)}, salt=SALT)[:-1] + "x",
        token[:-2],
        f"{payload}:",
    ]
    for bad in forged:
        response = client.post(f"/unsubscribe/{bad}/")
        assert response.status_code == 400, bad
        assert "not valid" in response.content.decode()
    assert DigestSettings.objects.get(user=site.other_reader).frequency == "daily"


def test_a_tag_unsubscribe_token_unfollows_that_tag_for_its_reader_only(client, site):
    from subscriptions.models import TagFollow
    from subscriptions.unsubscribe import make_token

    TagFollow.objects.create(user=site.other_reader, tag=site.tag)
    token = make_token(user_id=site.reader.pk, tag_id=site.tag.pk)
    assert client.post(f"/unsubscribe/{token}/").status_code == 200
    assert not TagFollow.objects.filter(user=site.reader, tag=site.tag).exists()
    assert TagFollow.objects.filter(user=site.other_reader, tag=site.tag).exists()
