"""The catalogue: papers, their authors and tags, tag rules, upvotes and bookmarks."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .rule_patterns import RulePatternError, compile_rule_regex

http_url = URLValidator(schemes=["http", "https"])

TRENDING_PERIODS = ("day", "week", "month", "all")


class PaperQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Paper.Status.PUBLISHED)

    def visible_to(self, user):
        """Staff see every paper; everyone else only published ones."""
        if user is not None and user.is_active and user.is_staff:
            return self
        return self.published()

    def tagged(self, tag):
        """Papers with this tag (a Tag or its slug)."""
        if isinstance(tag, str):
            return self.filter(tags__slug=tag)
        return self.filter(tags=tag)

    def featured(self):
        return self.filter(featured=True)

    def trending(self, period: str = "week"):
        """Ordered by the stored score of `period` (day, week, month) or by total upvotes (all)."""
        if period not in TRENDING_PERIODS:
            raise ValueError(f"unknown trending period {period!r}")
        if period == "all":
            return self.order_by("-upvote_count", "-published_at", "-id")
        return self.order_by(f"-trending_{period}", "-published_at", "-id")

    def for_cards(self):
        """What a list of paper cards needs, in a constant number of queries."""
        return self.select_related("comment_count").prefetch_related(
            models.Prefetch("tags", queryset=Tag.objects.filter(active=True).order_by("name")),
            models.Prefetch("authorships", queryset=PaperAuthor.objects.select_related("author").order_by("position")),
        )


class Tag(models.Model):
    name = models.CharField(max_length=64, help_text="Shown on chips and in emails, e.g. “negation”.")
    slug = models.SlugField(max_length=64, unique=True, help_text="Used in URLs: /tags/<slug>/.")
    description = models.TextField(blank=True, help_text="One or two sentences for the tag page.")
    active = models.BooleanField(
        default=True, help_text="Inactive tags are hidden from readers and cannot be followed."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:64]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("papers:tag", args=[self.slug])


class Author(models.Model):
    name = models.CharField(max_length=255)
    name_normalized = models.CharField(
        max_length=255, unique=True, help_text="Case- and accent-folded name used to merge duplicates."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        """/authors/<id>-<slug>/: the id finds the author, the slug is for people (a wrong one redirects)."""
        slug = slugify(self.name)[:80]
        return reverse("papers:author", kwargs={"pk": self.pk, "slug": slug} if slug else {"pk": self.pk})


class Paper(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        HIDDEN = "hidden", "Hidden"

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        ARXIV = "arxiv", "arXiv API"
        HUGGINGFACE = "huggingface", "Hugging Face"
        SNAPSHOT = "snapshot", "arXiv metadata snapshot"
        JSONL = "jsonl", "paperhub JSON Lines"
        DEMO = "demo", "Demo data"

    title = models.CharField(max_length=1000)
    title_normalized = models.CharField(
        max_length=500, db_index=True, editable=False, help_text="Identity of papers with no arXiv id or DOI."
    )
    slug = models.SlugField(max_length=120, unique=True, help_text="URL of a paper with no arXiv id.")
    abstract = models.TextField(blank=True)
    authors = models.ManyToManyField(Author, through="PaperAuthor", related_name="papers", blank=True)
    authors_text = models.TextField(
        blank=True, editable=False, help_text="Authors in order, comma-separated (denormalized for lists and search)."
    )
    arxiv_id = models.CharField(
        "arXiv id", max_length=64, blank=True, help_text="Without version, e.g. 2101.00001 or cs/0503050."
    )
    arxiv_version = models.PositiveSmallIntegerField("arXiv version", null=True, blank=True)
    doi = models.CharField("DOI", max_length=255, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="First publication (arXiv v1).")
    updated_at_source = models.DateTimeField("updated", null=True, blank=True, help_text="Latest version's date.")
    primary_category = models.CharField(max_length=32, blank=True)
    categories = models.JSONField(default=list, blank=True, help_text="All arXiv categories, primary first.")
    journal_ref = models.CharField("journal reference", max_length=500, blank=True)
    comment = models.TextField(blank=True)
    abs_url = models.URLField("abstract URL", max_length=500, blank=True, validators=[http_url])
    pdf_url = models.URLField("PDF URL", max_length=500, blank=True, validators=[http_url])
    code_url = models.URLField("code URL", max_length=500, blank=True, validators=[http_url])
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text="Only published papers are shown to readers.",
    )
    featured = models.BooleanField(default=False, help_text="Shown in the strip above the trending list.")
    upvote_count = models.PositiveIntegerField(default=0, editable=False)
    bookmark_count = models.PositiveIntegerField(default=0, editable=False)
    # Trending scores as time-invariant log2 scores (papers/trending.py): they change only when the
    # paper gets or loses an upvote or its date changes, never because time passes.
    trending_day = models.FloatField(default=0, editable=False)
    trending_week = models.FloatField(default=0, editable=False)
    trending_month = models.FloatField(default=0, editable=False)
    tags = models.ManyToManyField(Tag, related_name="papers", blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["-published_at", "-id"], name="paper_published_idx"),
            models.Index(fields=["status", "-trending_day"], name="paper_trending_day_idx"),
            models.Index(fields=["status", "-trending_week"], name="paper_trending_week_idx"),
            models.Index(fields=["status", "-trending_month"], name="paper_trending_month_idx"),
            models.Index(fields=["status", "-upvote_count"], name="paper_upvotes_idx"),
            # What a paper page reads of its similar papers (papers/paper_pages.py `find`), in the index
            # alone: a cold page reads none of their wide rows.
            models.Index(fields=["id", "status", "upvote_count", "updated_at"], name="paper_card_state_idx"),
            models.Index(fields=["doi"], name="paper_doi_idx", condition=~Q(doi="")),
            # The importers match DOIs case-insensitively, a whole batch at a time.
            models.Index(Lower("doi"), name="paper_doi_lower_idx", condition=~Q(doi="")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["arxiv_id"], condition=~Q(arxiv_id=""), name="paper_unique_arxiv_id"),
        ]
        permissions = [("import_papers", "Can import papers (admin import page)")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("papers:detail", args=[self.arxiv_id or self.slug])

    @property
    def arxiv_id_versioned(self) -> str:
        if self.arxiv_id and self.arxiv_version:
            return f"{self.arxiv_id}v{self.arxiv_version}"
        return self.arxiv_id

    @property
    def arxiv_abs_url(self) -> str:
        """The paper's arXiv abstract page ("" without an arXiv id)."""
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else ""

    @property
    def listed_at(self):
        """The date it is listed under: published, or added for a paper without a publication date."""
        return self.published_at or self.created_at

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class PaperAuthor(models.Model):
    """An author's place in a paper's byline."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="authorships")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="authorships")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["paper", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "author"], name="paperauthor_unique_author"),
            models.UniqueConstraint(fields=["paper", "position"], name="paperauthor_unique_position"),
        ]

    def __str__(self):
        return f"{self.position}. {self.author}"


class TagRule(models.Model):
    """When a paper gets a tag: any keyword, a regular expression, or an arXiv category."""

    class Kind(models.TextChoices):
        KEYWORDS = "keywords", "Any of these keywords"
        REGEX = "regex", "Regular expression"
        CATEGORY = "category", "arXiv category"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.KEYWORDS)
    pattern = models.TextField(
        help_text=(
            "Keywords: comma-separated, matched case-insensitively as whole words in title and abstract. "
            "Regular expression: RE2 syntax (as Python's, without backreferences or lookarounds), "
            "case-insensitive, over title and abstract. "
            "Category: an arXiv category such as cs.CL."
        )
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag", "kind", "id"]

    def __str__(self):
        return f"{self.tag}: {self.get_kind_display()} {self.pattern[:60]}"

    def clean(self):
        if not self.pattern.strip():
            raise ValidationError({"pattern": "Give at least one keyword, expression or category."})
        if self.kind == self.Kind.REGEX:
            try:
                compile_rule_regex(self.pattern)
            except RulePatternError as exc:
                raise ValidationError(
                    {
                        "pattern": f"This regular expression cannot be used: {exc}. Rules run on RE2 "
                        "(linear-time matching): no backreferences or lookarounds."
                    }
                ) from exc


class Upvote(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upvotes")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="upvotes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["paper", "created_at"], name="upvote_paper_time_idx")]
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="upvote_unique_user_paper")]

    def __str__(self):
        return f"{self.user} ▲ {self.paper}"


class Bookmark(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="bookmark_user_time_idx")]
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="bookmark_unique_user_paper")]

    def __str__(self):
        return f"{self.user} ★ {self.paper}"


class ImportRun(models.Model):
    """An import asked for in the admin, run by a Celery task (papers/import_runs.py).

    The upload is kept in the default storage (MEDIA_ROOT) until the task has
    read it. While the task runs, its live counts are in the cache; the row gets
    the final ones.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    upload = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=32, blank=True)
    arxiv_ids = models.JSONField(default=list, blank=True)
    draft = models.BooleanField(default=False)
    skip_invalid = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    read = models.PositiveIntegerField(default=0, help_text="Records read so far.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skipped_entries = models.JSONField(default=list, blank=True, help_text="The first skipped entries and why.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="importrun_status_idx")]

    def __str__(self):
        return f"import {self.pk} ({self.file_name or 'arXiv ids'}): {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ApiToken(models.Model):
    """A reader's personal token for the JSON API (papers/api/tokens.py). Only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="The reader's own label, e.g. “laptop script”.")
    prefix = models.CharField(max_length=12, help_text="The token's first characters, shown to tell tokens apart.")
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["key_hash"], name="apitoken_unique_key_hash")]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user}"


class AuthorRedirect(models.Model):
    """Where the page of an author merged into another now points (papers/authors.py)."""

    old_id = models.PositiveIntegerField(help_text="The id of the author that was merged away.")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["old_id"]
        constraints = [models.UniqueConstraint(fields=["old_id"], name="authorredirect_unique_old_id")]

    def __str__(self):
        return f"author {self.old_id} → {self.author}"


class Submission(models.Model):
    """A reader's request to add an arXiv paper (papers/submissions.py), fetched by a Celery task."""

    class Status(models.TextChoices):
        FETCHING = "fetching", "Fetching from arXiv"
        WAITING = "waiting", "Waiting for arXiv"
        REVIEW = "review", "Waiting for review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        ALREADY_HERE = "already_here", "Already here"
        NOT_FOUND = "not_found", "Not found on arXiv"
        WITHDRAWN = "withdrawn", "Withdrawn on arXiv"

    PENDING = (Status.FETCHING, Status.WAITING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    arxiv_id = models.CharField("arXiv id", max_length=64, help_text="Without version.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FETCHING)
    paper = models.ForeignKey(Paper, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")
    reason = models.TextField(blank=True, help_text="Why it was rejected: mailed to the reader.")
    error = models.TextField(blank=True, help_text="The last arXiv error while fetching.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "created_at"], name="submission_user_time_idx")]
        constraints = [
            models.UniqueConstraint(fields=["user", "arxiv_id"], name="submission_unique_user_arxiv_id"),
        ]

    def __str__(self):
        return f"{self.user} → arXiv:{self.arxiv_id} ({self.status})"

    def get_absolute_url(self):
        return reverse("papers:submission", args=[self.pk])

    @property
    def pending(self) -> bool:
        return self.status in self.PENDING


class TrustedReader(models.Model):
    """A reader a curator trusts: their submissions are published without review (papers/submissions.py).

    The per-reader flag curators set in the admin; membership of the "Trusted readers" group counts too.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", help_text="The reader trusted."
    )
    trusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The curator who trusted them.",
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why, for the other curators.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user"], name="trustedreader_unique_user")]

    def __str__(self):
        return f"{self.user} (trusted)"


class CommentQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(status=Comment.Status.VISIBLE)


class Comment(models.Model):
    """A reader's comment on a paper, or a reply to one (one level deep): papers/comments.py."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        VISIBLE = "visible", "Visible"
        HIDDEN = "hidden", "Hidden by a curator"
        DELETED = "deleted", "Deleted by its author"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies", help_text="Replies only."
    )
    body = models.TextField(help_text="Plain text; http(s) links become links.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VISIBLE)
    moderation_reason = models.CharField(
        max_length=500, blank=True, help_text="Shown to readers in place of a hidden comment."
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["paper", "status", "created_at"], name="comment_paper_idx"),
            models.Index(fields=["status", "created_at"], name="comment_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="comment_not_own_parent"),
        ]

    def __str__(self):
        return f"{self.user} on {self.paper_id}: {self.body[:60]}"

    def get_absolute_url(self):
        return reverse("papers:comments", args=[self.paper_id]) + f"#comment-{self.pk}"


class CommentCount(models.Model):
    """A paper's visible comments, counted again after each change (papers/comments.py `recount`).

    A narrow table of its own rather than a column of papers_paper: cards read
    it with one join, and no comment ever writes to the papers table.
    """

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, primary_key=True, related_name="comment_count")
    visible = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.paper_id}: {self.visible} comments"


class CommentReport(models.Model):
    """A reader's report of a comment (one per reader); open until a curator hides or keeps the comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["resolved", "-created_at"], name="commentreport_open_idx")]
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="commentreport_unique_reader"),
        ]

    def __str__(self):
        return f"{self.user} reported comment {self.comment_id}"


class TextModelQuerySet(models.QuerySet):
    def current(self):
        return self.filter(status=TextModel.Status.CURRENT)


class TextModel(models.Model):
    """One fit of the text model over the published catalogue: a version of every paper's vector.

    A fit writes its vectors under a new version in status `fitting`; only when
    all are written does one transaction make it `current` (papers/vectors.py).
    A fit that dies half-way leaves the previous version current and in use.
    """

    class Status(models.TextChoices):
        FITTING = "fitting", "Fitting"
        CURRENT = "current", "Current"
        RETIRED = "retired", "Retired"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FITTING)
    method = models.CharField(max_length=64, help_text="How vectors are made, e.g. tfidf+lsa.")
    dimensions = models.PositiveIntegerField(default=0)
    paper_count = models.PositiveIntegerField(default=0, help_text="Published papers the model was fitted on.")
    model = models.BinaryField(editable=False, help_text="The fitted transform (pickled), for papers imported later.")
    query_model = models.BinaryField(
        editable=False,
        default=b"",
        help_text="Vocabulary, idf and LSA components as numpy arrays (.npz): search transforms queries with them.",
    )
    fit_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TextModelQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="current"), name="textmodel_one_current"),
        ]

    def __str__(self):
        return f"text model v{self.pk} ({self.get_status_display()}, {self.paper_count} papers)"


class PaperVector(models.Model):
    """A paper's vector under one text model version, and its nearest neighbours there."""

    version = models.ForeignKey(TextModel, on_delete=models.CASCADE, related_name="vectors")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="vectors")
    vector = models.BinaryField(help_text="float32, L2-normalized, little-endian.")
    similar = models.JSONField(default=list, blank=True, help_text="Ids of the nearest papers, closest first.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "paper"], name="papervector_unique_version_paper"),
        ]

    def __str__(self):
        return f"vector of paper {self.paper_id} (v{self.version_id})"


class PaperPage(models.Model):
    """The part of a published paper's page that is the same for every visitor, rendered once.

    Written by papers/paper_pages.py (after a fit, at import, and on a view that
    finds none) and deleted there when a curator's change reaches what it shows.
    The counts, dates, buttons' state, chart and similar papers are placeholders
    filled per request; `card` is the paper's card as other papers' pages list it,
    and `similar_cards` are its first neighbours' cards, copied in from theirs.
    """

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, primary_key=True, related_name="stored_page")
    version = models.CharField(max_length=40, help_text="Of the templates it was rendered with; another is stale.")
    description = models.TextField(blank=True)
    head = models.TextField(blank=True)
    body = models.TextField(blank=True)
    card = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="[id, slug, name] of its tags, for their buttons.")
    paper_updated_at = models.DateTimeField(
        help_text="The paper's `updated_at` it was rendered from; another is stale."
    )
    chart = models.TextField(blank=True, help_text="The upvote chart's section, drawn for `chart_key`.")
    chart_key = models.CharField(max_length=100, blank=True, help_text="Day, upvote count and score it was drawn for.")
    similar_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The text model whose neighbours `similar` lists (another: read the vectors')."
    )
    similar = models.JSONField(default=list, blank=True, help_text="The paper's stored neighbours' ids, copied in.")
    similar_stamps = models.JSONField(
        default=list, blank=True, help_text="Each copied card's paper `updated_at` (None: not copied)."
    )
    similar_cards = models.TextField(
        blank=True, help_text="The first neighbours' cards, as `similar_stamps` lists them."
    )
    rendered_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"stored page of paper {self.paper_id}"
