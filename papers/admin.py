"""Catalogue admin. Curation tooling (bulk actions, import page, charts) builds on these classes."""

from django.contrib import admin

from .models import Author, Bookmark, Paper, PaperAuthor, Tag, TagRule, Upvote


class PaperAuthorInline(admin.TabularInline):
    model = PaperAuthor
    autocomplete_fields = ["author"]
    extra = 0
    ordering = ["position"]


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["title", "arxiv_id", "status", "featured", "upvote_count", "published_at"]
    list_filter = ["status", "featured", "source", "tags", "published_at"]
    search_fields = ["title", "abstract", "arxiv_id", "authors__name"]
    autocomplete_fields = ["tags"]
    raw_id_fields = ["submitted_by"]
    date_hierarchy = "published_at"
    list_per_page = 100
    readonly_fields = ["upvote_count", "bookmark_count", "authors_text", "created_at", "updated_at"]
    inlines = [PaperAuthorInline]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "name_normalized"]
    search_fields = ["name", "name_normalized"]


class TagRuleInline(admin.TabularInline):
    model = TagRule
    extra = 0


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TagRuleInline]


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    list_display = ["tag", "kind", "pattern", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["pattern", "tag__name"]
    autocomplete_fields = ["tag"]


@admin.register(Upvote)
class UpvoteAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created_at"]
    list_select_related = ["paper", "user"]
    search_fields = ["paper__title", "user__email"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["paper"]
    date_hierarchy = "created_at"


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created_at"]
    list_select_related = ["paper", "user"]
    search_fields = ["paper__title", "user__email"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["paper"]
    date_hierarchy = "created_at"
