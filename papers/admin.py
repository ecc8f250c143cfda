"""Catalogue admin: the curators' editorial tool.

Bulk actions call papers.curation; the "Import papers" page calls the import
service; the admin index charts come from papers.admin_charts.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from . import curation, pagecache
from .importers.service import FORMAT_CHOICES
from .models import Author, Bookmark, Paper, PaperAuthor, Tag, TagRule, Upvote
from .trending import refresh_paper

IMPORT_PERMISSION = "papers.import_papers"


class PaperAuthorInline(admin.TabularInline):
    model = PaperAuthor
    autocomplete_fields = ["author"]
    extra = 0
    ordering = ["position"]
    fields = ["position", "author"]


class TagChoiceForm(forms.Form):
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick one or more tags.",
    )


class InvalidatesPages:
    """Every change a curator makes here (save, delete, bulk action) refreshes the cached pages."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        pagecache.invalidate()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        pagecache.invalidate()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        pagecache.invalidate()

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        pagecache.invalidate()
        return response


@admin.register(Paper)
class PaperAdmin(InvalidatesPages, admin.ModelAdmin):
    list_display = ["title", "arxiv_id", "status", "featured", "upvote_count", "published_at", "tag_list"]
    list_filter = ["status", "featured", "tags", "published_at", "source"]
    search_fields = ["title", "abstract", "arxiv_id", "authors__name"]
    autocomplete_fields = ["tags"]
    raw_id_fields = ["submitted_by"]
    date_hierarchy = "published_at"
    list_per_page = 100
    readonly_fields = ["upvote_count", "bookmark_count", "authors_text", "created_at", "updated_at"]
    inlines = [PaperAuthorInline]
    prepopulated_fields = {"slug": ["title"]}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        "publish",
        "hide",
        "feature",
        "unfeature",
        "add_tags",
        "remove_tags",
        "reapply_tag_rules",
    ]

    def get_queryset(self, request):
        tags = Prefetch("tags", queryset=Tag.objects.order_by("name").only("id", "name"))
        return super().get_queryset(request).prefetch_related(tags)

    @admin.display(description="tags")
    def tag_list(self, paper: Paper) -> str:
        return ", ".join(tag.name for tag in paper.tags.all())

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or {"published_at", "status"} & set(form.changed_data):
            # A paper added or re-dated by hand is in its periods' lists at once.
            refresh_paper(obj.pk, now=timezone.now())

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        curation.refresh_authors_text(form.instance)

    # --- bulk actions (each reports how many papers changed) ---------------

    def _report(self, request, count: int, what: str) -> None:
        noun = "paper" if count == 1 else "papers"
        self.message_user(request, f"{count} {noun} {what}.", messages.SUCCESS)

    @admin.action(description="Publish selected papers", permissions=["change"])
    def publish(self, request, queryset):
        self._report(request, curation.publish(queryset), "published")

    @admin.action(description="Hide selected papers", permissions=["change"])
    def hide(self, request, queryset):
        self._report(request, curation.hide(queryset), "hidden")

    @admin.action(description="Feature selected papers", permissions=["change"])
    def feature(self, request, queryset):
        self._report(request, curation.set_featured(queryset, featured=True), "featured")

    @admin.action(description="Unfeature selected papers", permissions=["change"])
    def unfeature(self, request, queryset):
        self._report(request, curation.set_featured(queryset, featured=False), "unfeatured")

    @admin.action(description="Add tags to selected papers…", permissions=["change"])
    def add_tags(self, request, queryset):
        return self._tags_action(request, queryset, action="add_tags", title="Add tags")

    @admin.action(description="Remove tags from selected papers…", permissions=["change"])
    def remove_tags(self, request, queryset):
        return self._tags_action(request, queryset, action="remove_tags", title="Remove tags")

    @admin.action(description="Re-apply tag rules to selected papers", permissions=["change"])
    def reapply_tag_rules(self, request, queryset):
        self._report(request, curation.reapply_tag_rules(queryset), "gained tags from the rules")

    def _tags_action(self, request, queryset, *, action: str, title: str):
        """The intermediate page: pick tags, then apply (the form posts back to this action)."""
        form = TagChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            tags = form.cleaned_data["tags"]
            if action == "add_tags":
                self._report(request, curation.add_tags(queryset, tags), "gained tags")
            else:
                self._report(request, curation.remove_tags(queryset, tags), "lost tags")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {queryset.count()} selected papers",
            "opts": self.model._meta,
            "form": form,
            "papers": queryset[:100],
            "count": queryset.count(),
            "action": action,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/papers/paper/tags_action.html", context)

    # --- the import page -----------------------------------------------------

    def get_urls(self):
        urls = [path("import/", self.admin_site.admin_view(self.import_view), name="papers_paper_import")]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": request.user.has_perm(IMPORT_PERMISSION)}
        return super().changelist_view(request, extra_context=extra_context)

    def import_view(self, request):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
        reports, error = [], ""
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            reports, error = curation.run_import(
                file=upload.file if upload else None,
                file_name=upload.name if upload else "",
                format=data["format"] or None,
                arxiv_ids=data["arxiv_ids"],
                status=Paper.Status.DRAFT if data["draft"] else Paper.Status.PUBLISHED,
                skip_invalid=data["skip_invalid"],
                dry_run=data["dry_run"],
                submitted_by=request.user,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import papers",
            "opts": self.model._meta,
            "form": form,
            "reports": reports,
            "error": error,
            "changelist_url": reverse("admin:papers_paper_changelist"),
        }
        return TemplateResponse(request, "admin/papers/paper/import.html", context)


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        help_text="arXiv API Atom XML, Hugging Face daily papers JSON, arXiv snapshot or paperhub JSON Lines.",
    )
    format = forms.ChoiceField(
        choices=[("", "Detect from the content"), *FORMAT_CHOICES], required=False, label="File format"
    )
    arxiv_ids = forms.CharField(
        label="arXiv ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="One or more ids, separated by spaces, commas or new lines, e.g. 2101.00001 or cs/0503050v1.",
    )
    draft = forms.BooleanField(required=False, label="Create new papers as drafts")
    skip_invalid = forms.BooleanField(required=False, label="Skip invalid entries (and list them)")
    dry_run = forms.BooleanField(required=False, label="Dry run: show what would change, write nothing")

    def clean_arxiv_ids(self) -> list[str]:
        return [part for part in self.cleaned_data["arxiv_ids"].replace(",", " ").split() if part]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("file") and not cleaned.get("arxiv_ids"):
            raise forms.ValidationError("Upload a file or paste arXiv ids.")
        return cleaned


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "name_normalized"]
    search_fields = ["name", "name_normalized"]


class TagRuleInline(admin.TabularInline):
    model = TagRule
    extra = 0
    fields = ["kind", "pattern", "active"]


def _count_of(model, field: str):
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@admin.register(Tag)
class TagAdmin(InvalidatesPages, admin.ModelAdmin):
    list_display = ["name", "slug", "active", "paper_count", "follower_count"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TagRuleInline]
    actions = ["apply_rules"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).annotate(paper_count=_count_of(Paper.tags.through, "tag"))
        # Followers live in subscriptions (TagFollow, related_name "follows"); papers never imports it.
        follows = {rel.get_accessor_name(): rel for rel in Tag._meta.related_objects}.get("follows")
        if follows is not None:
            return queryset.annotate(follower_count=_count_of(follows.related_model, "tag"))
        return queryset.annotate(follower_count=Value(0))

    @admin.display(description="papers", ordering="paper_count")
    def paper_count(self, tag: Tag) -> int:
        return tag.paper_count

    @admin.display(description="followers", ordering="follower_count")
    def follower_count(self, tag: Tag) -> int:
        return tag.follower_count

    @admin.action(description="Apply the rules of selected tags to all papers", permissions=["change"])
    def apply_rules(self, request, queryset):
        count = curation.apply_tag_rules_of(queryset)
        self.message_user(request, f"{count} {'paper' if count == 1 else 'papers'} gained tags.", messages.SUCCESS)


@admin.register(TagRule)
class TagRuleAdmin(InvalidatesPages, admin.ModelAdmin):
    list_display = ["tag", "kind", "pattern", "active"]
    list_select_related = ["tag"]
    list_filter = ["kind", "active"]
    search_fields = ["pattern", "tag__name"]
    autocomplete_fields = ["tag"]
    actions = ["apply_to_all_papers"]

    @admin.action(description="Apply selected rules to all papers", permissions=["change"])
    def apply_to_all_papers(self, request, queryset):
        count = curation.apply_rules_everywhere(queryset)
        self.message_user(request, f"{count} {'paper' if count == 1 else 'papers'} gained tags.", messages.SUCCESS)


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
