"""The catalogue's schema.

On PostgreSQL it ends with full-text search: a stored tsvector column kept by a
trigger, with a GIN index. The column `papers_paper.search_document` is
deliberately not a model field: Django never reads or writes it, so list pages
do not carry it and later migrations of Paper never touch it. A BEFORE
INSERT/UPDATE trigger computes it from the title (weight A) and the authors and
abstract (weight B), so every write path (admin, importers, bulk updates) keeps
it current. Ranking reads the stored vector (papers/search.py). SQLite searches
without any of this.
"""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

SEARCH_DOCUMENT_FORWARD = [
    "ALTER TABLE papers_paper ADD COLUMN IF NOT EXISTS search_document tsvector",
    """
    CREATE OR REPLACE FUNCTION papers_paper_search_document() RETURNS trigger AS $$
    BEGIN
        NEW.search_document :=
            setweight(to_tsvector('english'::regconfig, coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('english'::regconfig,
                         coalesce(NEW.authors_text, '') || ' ' || coalesce(NEW.abstract, '')), 'B');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS papers_paper_search_document ON papers_paper",
    """
    CREATE TRIGGER papers_paper_search_document
        BEFORE INSERT OR UPDATE OF title, authors_text, abstract ON papers_paper
        FOR EACH ROW EXECUTE FUNCTION papers_paper_search_document()
    """,
    "CREATE INDEX IF NOT EXISTS paper_search_gin ON papers_paper USING gin (search_document)",
]

SEARCH_DOCUMENT_BACKWARD = [
    "DROP INDEX IF EXISTS paper_search_gin",
    "DROP TRIGGER IF EXISTS papers_paper_search_document ON papers_paper",
    "DROP FUNCTION IF EXISTS papers_paper_search_document()",
    "ALTER TABLE papers_paper DROP COLUMN IF EXISTS search_document",
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Author",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=255)),
                (
                    "name_normalized",
                    models.CharField(
                        help_text="Case- and accent-folded name used to merge duplicates.", max_length=255, unique=True
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="Shown on chips and in emails, e.g. “negation”.", max_length=64)),
                ("slug", models.SlugField(help_text="Used in URLs: /tags/<slug>/.", max_length=64, unique=True)),
                ("description", models.TextField(blank=True, help_text="One or two sentences for the tag page.")),
                (
                    "active",
                    models.BooleanField(
                        default=True, help_text="Inactive tags are hidden from readers and cannot be followed."
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Paper",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=1000)),
                (
                    "title_normalized",
                    models.CharField(
                        db_index=True,
                        editable=False,
                        help_text="Identity of papers with no arXiv id or DOI.",
                        max_length=500,
                    ),
                ),
                ("slug", models.SlugField(help_text="URL of a paper with no arXiv id.", max_length=120, unique=True)),
                ("abstract", models.TextField(blank=True)),
                (
                    "authors_text",
                    models.TextField(
                        blank=True,
                        editable=False,
                        help_text="Authors in order, comma-separated (denormalized for lists and search).",
                    ),
                ),
                (
                    "arxiv_id",
                    models.CharField(
                        blank=True,
                        help_text="Without version, e.g. 2101.00001 or cs/0503050.",
                        max_length=64,
                        verbose_name="arXiv id",
                    ),
                ),
                (
                    "arxiv_version",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="arXiv version"),
                ),
                ("doi", models.CharField(blank=True, max_length=255, verbose_name="DOI")),
                (
                    "published_at",
                    models.DateTimeField(blank=True, help_text="First publication (arXiv v1).", null=True),
                ),
                (
                    "updated_at_source",
                    models.DateTimeField(
                        blank=True, help_text="Latest version's date.", null=True, verbose_name="updated"
                    ),
                ),
                ("primary_category", models.CharField(blank=True, max_length=32)),
                (
                    "categories",
                    models.JSONField(blank=True, default=list, help_text="All arXiv categories, primary first."),
                ),
                ("journal_ref", models.CharField(blank=True, max_length=500, verbose_name="journal reference")),
                ("comment", models.TextField(blank=True)),
                (
                    "abs_url",
                    models.URLField(
                        blank=True,
                        max_length=500,
                        validators=[django.core.validators.URLValidator(schemes=["http", "https"])],
                        verbose_name="abstract URL",
                    ),
                ),
                (
                    "pdf_url",
                    models.URLField(
                        blank=True,
                        max_length=500,
                        validators=[django.core.validators.URLValidator(schemes=["http", "https"])],
                        verbose_name="PDF URL",
                    ),
                ),
                (
                    "code_url",
                    models.URLField(
                        blank=True,
                        max_length=500,
                        validators=[django.core.validators.URLValidator(schemes=["http", "https"])],
                        verbose_name="code URL",
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("manual", "Entered by hand"),
                            ("arxiv", "arXiv API"),
                            ("huggingface", "Hugging Face"),
                            ("snapshot", "arXiv metadata snapshot"),
                            ("jsonl", "paperhub JSON Lines"),
                            ("demo", "Demo data"),
                        ],
                        default="manual",
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("draft", "Draft"), ("published", "Published"), ("hidden", "Hidden")],
                        default="draft",
                        help_text="Only published papers are shown to readers.",
                        max_length=16,
                    ),
                ),
                (
                    "featured",
                    models.BooleanField(default=False, help_text="Shown in the strip above the trending list."),
                ),
                ("upvote_count", models.PositiveIntegerField(default=0, editable=False)),
                ("bookmark_count", models.PositiveIntegerField(default=0, editable=False)),
                ("trending_day", models.FloatField(default=0, editable=False)),
                ("trending_week", models.FloatField(default=0, editable=False)),
                ("trending_month", models.FloatField(default=0, editable=False)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "submitted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-published_at", "-id"],
                "permissions": [("import_papers", "Can import papers (admin import page)")],
            },
        ),
        migrations.CreateModel(
            name="PaperAuthor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField()),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="authorships", to="papers.author"
                    ),
                ),
                (
                    "paper",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="authorships", to="papers.paper"
                    ),
                ),
            ],
            options={
                "ordering": ["paper", "position"],
            },
        ),
        migrations.AddField(
            model_name="paper",
            name="authors",
            field=models.ManyToManyField(
                blank=True, related_name="papers", through="papers.PaperAuthor", to="papers.author"
            ),
        ),
        migrations.AddField(
            model_name="paper",
            name="tags",
            field=models.ManyToManyField(blank=True, related_name="papers", to="papers.tag"),
        ),
        migrations.CreateModel(
            name="TagRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("keywords", "Any of these keywords"),
                            ("regex", "Regular expression"),
                            ("category", "arXiv category"),
                        ],
                        default="keywords",
                        max_length=16,
                    ),
                ),
                (
                    "pattern",
                    models.TextField(
                        help_text="Keywords: comma-separated, matched case-insensitively as whole words in title and abstract. Regular expression: Python syntax, case-insensitive, over title and abstract. Category: an arXiv category such as cs.CL."
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="rules", to="papers.tag"
                    ),
                ),
            ],
            options={
                "ordering": ["tag", "kind", "id"],
            },
        ),
        migrations.CreateModel(
            name="Upvote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "paper",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="upvotes", to="papers.paper"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="upvotes", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Bookmark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bookmarks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "paper",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="bookmarks", to="papers.paper"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["user", "-created_at"], name="bookmark_user_time_idx")],
                "constraints": [models.UniqueConstraint(fields=("user", "paper"), name="bookmark_unique_user_paper")],
            },
        ),
        migrations.AddConstraint(
            model_name="paperauthor",
            constraint=models.UniqueConstraint(fields=("paper", "author"), name="paperauthor_unique_author"),
        ),
        migrations.AddConstraint(
            model_name="paperauthor",
            constraint=models.UniqueConstraint(fields=("paper", "position"), name="paperauthor_unique_position"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["-published_at", "-id"], name="paper_published_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["status", "-trending_day"], name="paper_trending_day_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["status", "-trending_week"], name="paper_trending_week_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["status", "-trending_month"], name="paper_trending_month_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["status", "-upvote_count"], name="paper_upvotes_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(condition=models.Q(("doi", ""), _negated=True), fields=["doi"], name="paper_doi_idx"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(
                django.db.models.functions.text.Lower("doi"),
                condition=models.Q(("doi", ""), _negated=True),
                name="paper_doi_lower_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="paper",
            constraint=models.UniqueConstraint(
                condition=models.Q(("arxiv_id", ""), _negated=True), fields=("arxiv_id",), name="paper_unique_arxiv_id"
            ),
        ),
        migrations.AddIndex(
            model_name="upvote",
            index=models.Index(fields=["paper", "created_at"], name="upvote_paper_time_idx"),
        ),
        migrations.AddConstraint(
            model_name="upvote",
            constraint=models.UniqueConstraint(fields=("user", "paper"), name="upvote_unique_user_paper"),
        ),
        migrations.RunPython(_on_postgresql(SEARCH_DOCUMENT_FORWARD), _on_postgresql(SEARCH_DOCUMENT_BACKWARD)),
    ]
