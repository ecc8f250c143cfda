"""Catalogue admin: the curators' editorial tool.

Bulk actions call papers.curation; the "Import papers" page queues an import
task (papers.import_runs) and shows its progress; the admin index charts come from papers.admin_charts.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from . import attention, authors, comments, curation, import_runs, pagecache, paper_pages, search, slots, submissions
from .admin_widgets import CategoriesField
from .importers.service import FORMAT_CHOICES
from .models import (
    Author,
    Bookmark,
    Comment,
    CommentReport,
    ImportRun,
    Paper,
    PaperAuthor,
    Submission,
    Tag,
    TagRule,
    TrustedReader,
    Upvote,
)
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


# The paper list stays readable at 1280 px: titles are cut here (the full one is their title attribute).
LIST_TITLE_CHARS = 90


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


class ForgetsStoredPages:
    """Saving (when `shown_fields` changed) or deleting these rows drops the stored pages of the papers
    that show them (papers/paper_pages.py): `papers_showing(pks)` names those papers."""

    shown_fields: frozenset[str] | None = None  # None: any change counts

    def papers_showing(self, pks):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and (self.shown_fields is None or self.shown_fields & set(form.changed_data)):
            paper_pages.forget(self.papers_showing([obj.pk]))

    def delete_model(self, request, obj):
        papers = self.papers_showing([obj.pk])
        super().delete_model(request, obj)
        paper_pages.forget(papers)

    def delete_queryset(self, request, queryset):
        papers = self.papers_showing(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        paper_pages.forget(papers)


@admin.register(Paper)
class PaperAdmin(InvalidatesPages, admin.ModelAdmin):
    list_display = ["short_title", "arxiv_id", "status", "featured", "upvotes", "published", "tag_tokens"]
    list_filter = ["status", "featured", "tags", "published_at", "source"]
    # Searched by papers.search.filter_matching (get_search_results), not by icontains over these.
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

    def get_search_results(self, request, queryset, search_term):
        """The site's full-text search (bounded words), not icontains over 60,000 abstracts."""
        return search.filter_matching(queryset, search_term), False

    class Media:
        css = {"all": ["css/admin_papers.css"]}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "categories":  # tokens, not the JSON field's raw "[]" box
            return CategoriesField(required=False, label="Categories", help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        title = paper.title
        short = title if len(title) <= LIST_TITLE_CHARS else title[: LIST_TITLE_CHARS - 1].rstrip() + "…"
        return format_html('<span title="{}">{}</span>', title, short)

    @admin.display(description="upvotes", ordering="upvote_count")
    def upvotes(self, paper: Paper) -> int:
        return paper.upvote_count

    @admin.display(description="published", ordering="published_at")
    def published(self, paper: Paper) -> str:
        return f"{paper.published_at:%Y-%m-%d}" if paper.published_at else "—"

    @admin.display(description="tags")
    def tag_tokens(self, paper: Paper) -> str:
        return format_html_join(
            "", '<span class="paper-tag-token">{}</span>', ((tag.name,) for tag in paper.tags.all())
        )

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
        urls = [
            # CSRF is checked inside the view, after the size: an oversized upload is refused unread.
            path("import/", self.admin_site.admin_view(csrf_exempt(self.import_view)), name="papers_paper_import"),
            path("attention/", self.admin_site.admin_view(self.attention_view), name="papers_attention"),
            path(
                "import/<int:run_id>/",
                self.admin_site.admin_view(self.import_run_view),
                name="papers_paper_import_run",
            ),
        ]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            # At 1280 px the list and its filters need the whole width: the app sidebar stays on other pages.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context=extra_context)

    def import_view(self, request):
        """Refuse an upload over IMPORT_UPLOAD_MAX_MB by its Content-Length, before anything reads the body
        (the CSRF check would parse the whole upload); anything else goes to the form, CSRF-protected."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        limit = settings.IMPORT_UPLOAD_MAX_MB * 1024 * 1024
        if request.method == "POST" and _content_length(request) > limit + 1024 * 1024:  # room for the fields
            # Refusing changes nothing, so it needs no CSRF token; the page it shows carries a new one.
            return self._import_page(request, ImportForm(), error=_too_big_message(), status=413)
        return csrf_protect(self._import_form_view)(request)

    def _import_form_view(self, request):
        """The form; a valid POST stores the upload, queues the import task and shows its progress page."""
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                run = import_runs.queue_import(
                    upload=data["file"],
                    format=data["format"],
                    arxiv_ids=data["arxiv_ids"],
                    draft=data["draft"],
                    skip_invalid=data["skip_invalid"],
                    dry_run=data["dry_run"],
                    created_by=request.user,
                )
                return redirect("admin:papers_paper_import_run", run_id=run.pk)
        else:
            form = ImportForm()
        return self._import_page(request, form)

    def _import_page(self, request, form, *, error: str = "", status: int = 200):
        context = {
            **self.admin_site.each_context(request),
            "title": "Import papers",
            "opts": self.model._meta,
            "form": form,
            "error": error,
            "max_mb": settings.IMPORT_UPLOAD_MAX_MB,
            "recent_runs": ImportRun.objects.select_related("created_by")[:10],
            "changelist_url": reverse("admin:papers_paper_changelist"),
        }
        return TemplateResponse(request, "admin/papers/paper/import.html", context, status=status)

    def attention_view(self, request):
        """What needs a curator: drafts, untagged papers, failed imports and digests (papers.attention)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Needs attention",
            "opts": self.model._meta,
            "items": attention.attention_items(now=timezone.now()),
            "changelist_url": reverse("admin:papers_paper_changelist"),
        }
        return TemplateResponse(request, "admin/papers/attention.html", context)

    def import_run_view(self, request, run_id: int):
        """One import's progress: it reloads itself every 2 seconds until the run has finished."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=run_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import {run.pk}: {run.file_name or 'arXiv ids'}",
            "opts": self.model._meta,
            "run": run,
            "progress": import_runs.progress_of(run),
            "refresh_seconds": 2,
            "import_url": reverse("admin:papers_paper_import"),
            "changelist_url": reverse("admin:papers_paper_changelist"),
        }
        return TemplateResponse(request, "admin/papers/paper/import_run.html", context)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_big_message() -> str:
    return (
        f"The upload is larger than {settings.IMPORT_UPLOAD_MAX_MB} MB (IMPORT_UPLOAD_MAX_MB), so it was refused: "
        "split the file, or import it with `manage.py import_papers`."
    )


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

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > settings.IMPORT_UPLOAD_MAX_MB * 1024 * 1024:
            raise forms.ValidationError(_too_big_message())
        return upload

    def clean_arxiv_ids(self) -> list[str]:
        return [part for part in self.cleaned_data["arxiv_ids"].replace(",", " ").split() if part]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("file") and not cleaned.get("arxiv_ids"):
            raise forms.ValidationError("Upload a file or paste arXiv ids.")
        return cleaned


@admin.register(Author)
class AuthorAdmin(ForgetsStoredPages, admin.ModelAdmin):
    list_display = ["name", "name_normalized"]
    search_fields = ["name", "name_normalized"]
    actions = ["merge"]

    # Bylines link the author by name: their papers' stored pages go.
    def papers_showing(self, pks):
        return paper_pages.by_authors(pks)

    @admin.action(description="Merge selected authors into the one with the most papers", permissions=["change"])
    def merge(self, request, queryset):
        try:
            result = authors.merge_authors(authors=queryset)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            f"Merged {result.merged} author(s) into “{result.kept.name}”: {result.bylines_moved} byline(s) moved; "
            "their old pages redirect to its page.",
            messages.SUCCESS,
        )


class TagRuleInline(admin.TabularInline):
    model = TagRule
    extra = 0
    fields = ["kind", "pattern", "active"]


def _count_of(model, field: str):
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _tag_count_column(count: slots.TagCount):
    """A list_display column for a count registered by another app."""

    @admin.display(description=count.plural, ordering=count.key)
    def column(tag: Tag) -> int:
        return getattr(tag, count.key)

    column.__name__ = count.key
    return column


@admin.register(Tag)
class TagAdmin(ForgetsStoredPages, InvalidatesPages, admin.ModelAdmin):
    list_display = ["name", "slug", "active", "paper_count"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TagRuleInline]
    actions = ["apply_rules"]

    # Papers show their tags' names and slugs (active ones only): their stored pages go.
    shown_fields = frozenset({"name", "slug", "active"})

    def papers_showing(self, pks):
        return paper_pages.tagged(pks)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).annotate(paper_count=_count_of(Paper.tags.through, "tag"))
        # Counts other apps add (followers: subscriptions), through papers/slots.py.
        return slots.annotate_tag_counts(queryset)

    def get_list_display(self, request):
        return [*super().get_list_display(request), *(_tag_count_column(count) for count in slots.tag_counts())]

    @admin.display(description="papers", ordering="paper_count")
    def paper_count(self, tag: Tag) -> int:
        return tag.paper_count

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


class ReactionAdmin(admin.ModelAdmin):
    """Readers' reactions, read-only: curators never fabricate or edit them, and may only delete (spam).

    Deleting rows, one or in bulk, keeps the paper's counter true: the database counts them (papers/counters.py).
    """

    list_display = ["paper", "user", "created_at"]
    list_select_related = ["paper", "user"]
    search_fields = ["paper__title", "user__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Upvote)
class UpvoteAdmin(ReactionAdmin):
    pass


@admin.register(Bookmark)
class BookmarkAdmin(ReactionAdmin):
    pass


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Mailed to each reader who submitted the paper, and shown on their submission page.",
    )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Readers' submissions, oldest first: the review queue (filter by status "Waiting for review")."""

    list_display = ["arxiv_id", "paper_title", "user", "status", "created_at", "attempts"]
    list_filter = ["status", "created_at"]
    list_select_related = ["user", "paper"]
    search_fields = ["arxiv_id", "user__email", "paper__title"]
    ordering = ["created_at", "id"]
    raw_id_fields = ["user", "paper"]
    readonly_fields = ["user", "arxiv_id", "status", "paper", "reason", "error", "attempts", "created_at", "updated_at"]
    actions = ["publish", "reject", "trust_submitters"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Trust the selected submitters (their next submissions are published directly)",
        permissions=["trust"],
    )
    def trust_submitters(self, request, queryset):
        users = get_user_model().objects.filter(pk__in=queryset.values("user_id"))
        count = submissions.trust_readers(
            users=list(users), by=request.user, note="Trusted from the review queue.", now=timezone.now()
        )
        self.message_user(request, f"{count} reader(s) are now trusted readers.", messages.SUCCESS)

    def has_trust_permission(self, request):
        return request.user.has_perm("papers.add_trustedreader")

    @admin.display(description="paper")
    def paper_title(self, obj):
        if obj.paper is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:papers_paper_change", args=[obj.paper_id]), obj.paper.title[:120]
        )

    def _papers(self, queryset):
        return Paper.objects.filter(pk__in=queryset.exclude(paper=None).values("paper_id"))

    @admin.action(description="Publish the selected submissions' papers (mails the submitters)", permissions=["change"])
    def publish(self, request, queryset):
        count = submissions.publish(papers=self._papers(queryset), now=timezone.now())
        self.message_user(request, f"{count} paper(s) published; their submitters are mailed.", messages.SUCCESS)

    @admin.action(description="Reject the selected submissions with a reason…", permissions=["change"])
    def reject(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = submissions.reject(
                papers=self._papers(queryset), reason=form.cleaned_data["reason"], now=timezone.now()
            )
            self.message_user(request, f"{count} paper(s) rejected and hidden; their submitters are mailed.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject {queryset.count()} selected submission(s)",
            "opts": self.model._meta,
            "form": form,
            "submissions": queryset.select_related("paper")[:100],
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/papers/submission/reject.html", context)


class CommentReportInline(admin.TabularInline):
    model = CommentReport
    extra = 0
    can_delete = False
    fields = ["user", "reason", "resolved", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReportsFilter(admin.SimpleListFilter):
    """`?reports=open`: the shown comments with open reports, most reported first, then oldest first.

    A named, stable view for the Needs attention page to link to: unlike `?o=<column number>`, it
    does not change meaning when list_display does.
    """

    title = "reports"
    parameter_name = "reports"
    OPEN = "open"

    def lookups(self, request, model_admin):
        return [(self.OPEN, "Open reports (most reported first)")]

    def queryset(self, request, queryset):
        if self.value() == self.OPEN:
            return queryset.filter(status=Comment.Status.VISIBLE, open_reports_count__gt=0)
        return queryset


class HideForm(forms.Form):
    reason = forms.CharField(
        max_length=500, help_text="Readers see it in place of the comment, e.g. “Off topic” or “Personal attack”."
    )


@admin.register(TrustedReader)
class TrustedReaderAdmin(admin.ModelAdmin):
    """The per-reader flag: a trusted reader's submissions are published without review."""

    list_display = ["user", "trusted_by", "note", "created_at"]
    list_select_related = ["user", "trusted_by"]
    search_fields = ["user__email", "user__username", "note"]
    raw_id_fields = ["user"]
    fields = ["user", "note", "trusted_by", "created_at"]
    readonly_fields = ["trusted_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.trusted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments: hide with a reason, restore or approve (papers/comments.py)."""

    list_display = ["excerpt", "paper", "user", "status", "open_reports", "created_at"]
    list_filter = [ReportsFilter, "status", "created_at"]
    list_select_related = ["paper", "user"]
    search_fields = ["body", "user__email", "paper__title"]
    raw_id_fields = ["user", "paper", "parent"]
    readonly_fields = ["paper", "user", "parent", "body", "status", "moderation_reason", "created_at", "edited_at"]
    inlines = [CommentReportInline]
    actions = ["hide", "restore"]

    class Media:
        css = {"all": ["css/admin_papers.css"]}

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        # Annotated before ModelAdmin's ordering is applied: the reported view orders by the annotation.
        queryset = self.model._default_manager.get_queryset().annotate(
            open_reports_count=Count("reports", filter=models.Q(reports__resolved=False))
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_ordering(self, request):
        # The reported view's own order (a column the curator clicks, `?o=`, still wins).
        if request.GET.get(ReportsFilter.parameter_name) == ReportsFilter.OPEN:
            return comments.REPORTED_ORDER
        return super().get_ordering(request)

    @admin.display(description="comment")
    def excerpt(self, obj):
        return obj.body[:80] or "—"

    @admin.display(description="reports", ordering="open_reports_count")
    def open_reports(self, obj):
        return obj.open_reports_count

    @admin.action(
        description="Restore or approve the selected comments (and dismiss their reports)", permissions=["change"]
    )
    def restore(self, request, queryset):
        count = comments.restore_comments(comments=queryset)
        self.message_user(request, f"{count} comment(s) shown; their reports are closed.", messages.SUCCESS)

    @admin.action(description="Hide the selected comments with a reason…", permissions=["change"])
    def hide(self, request, queryset):
        form = HideForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = comments.hide_comments(comments=queryset, reason=form.cleaned_data["reason"])
            self.message_user(request, f"{count} comment(s) hidden.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Hide {queryset.count()} selected comment(s)",
            "opts": self.model._meta,
            "form": form,
            "comments": queryset[:100],
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/papers/comment/hide.html", context)
