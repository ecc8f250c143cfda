"""factory_boy factories shared by the whole suite.

The subscriptions factories exist only when that app is installed: the papers
suite also runs without it (tests/settings_without_subscriptions.py).
"""

import factory
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from papers.models import Author, Bookmark, Paper, Tag, TagRule, Upvote
from papers.text import normalize_name, normalize_title


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        """A verified primary address unless `verified=False` is passed."""
        if create and extracted is not False:
            EmailAddress.objects.get_or_create(user=obj, email=obj.email, defaults={"verified": True, "primary": True})


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"curator{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"topic {n}")
    slug = factory.LazyAttribute(lambda o: o.name.replace(" ", "-"))
    description = factory.LazyAttribute(lambda o: f"Papers about {o.name}.")


class TagRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TagRule

    tag = factory.SubFactory(TagFactory)
    kind = TagRule.Kind.KEYWORDS
    pattern = "sampling"


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ("name_normalized",)

    name = factory.Sequence(lambda n: f"Ada Author {n}")
    name_normalized = factory.LazyAttribute(lambda o: normalize_name(o.name))


class PaperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paper
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"A study of things number {n}")
    title_normalized = factory.LazyAttribute(lambda o: normalize_title(o.title))
    slug = factory.Sequence(lambda n: f"paper-{n}")
    abstract = "We study things and find that they are interesting."
    arxiv_id = factory.Sequence(lambda n: f"2401.{n:05d}")
    arxiv_version = 1
    status = Paper.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    # Imported when it was published, unless a test says otherwise.
    created_at = factory.LazyAttribute(lambda o: o.published_at or timezone.now())
    source = Paper.Source.MANUAL

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tags.add(*extracted)


class UpvoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Upvote

    user = factory.SubFactory(UserFactory)
    paper = factory.SubFactory(PaperFactory)


class BookmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bookmark

    user = factory.SubFactory(UserFactory)
    paper = factory.SubFactory(PaperFactory)


# --- Catalogue ----------------------------------------------------------------


class PaperAuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "papers.PaperAuthor"

    paper = factory.SubFactory(PaperFactory)
    author = factory.SubFactory(AuthorFactory)
    position = factory.Sequence(lambda n: n)


class CuratorFactory(UserFactory):
    """Staff in the "Curators" group (created by a data migration): no superuser powers."""

    is_staff = True
    username = factory.Sequence(lambda n: f"editor{n}")

    @factory.post_generation
    def curators_group(obj, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Group

            obj.groups.add(Group.objects.get(name="Curators"))


# --- subscriptions -------------------------------------------------------------

if apps.is_installed("subscriptions"):
    from subscriptions.models import Digest, DigestItem, DigestSettings, SavedSearch, TagFollow
    from subscriptions.searches import query_key

    class TagFollowFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = TagFollow

        user = factory.SubFactory(UserFactory)
        tag = factory.SubFactory(TagFactory)

    class DigestSettingsFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = DigestSettings
            django_get_or_create = ("user",)

        user = factory.SubFactory(UserFactory)

    class DigestFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = Digest

        user = factory.SubFactory(UserFactory)
        period_key = factory.Sequence(lambda n: f"2026-01-{n % 28 + 1:02d}-{n}")
        message_id = factory.Sequence(lambda n: f"<digest-{n}@example.com>")

    class DigestItemFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = DigestItem

        digest = factory.SubFactory(DigestFactory)
        paper = factory.SubFactory(PaperFactory)
        rank = factory.Sequence(lambda n: n + 1)
        reason = "Trending"

    class SavedSearchFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = SavedSearch

        user = factory.SubFactory(UserFactory)
        query = "hard negatives"
        query_key = factory.LazyAttribute(lambda o: query_key(o.query))
