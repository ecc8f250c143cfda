"""What curators do to papers in bulk: publish, hide, feature, tag. Admin actions call these.

Each function takes a queryset of papers and returns how many papers actually
changed, so a second run reports 0.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from . import paper_pages
from .models import Paper, Tag, TagRule
from .tagging import CompiledRule, compiled_rules, retag


def set_status(papers: QuerySet, *, status: str) -> int:
    """Give the papers `status` (published, hidden, draft). Returns papers changed."""
    return papers.exclude(status=status).update(status=status)


def publish(papers: QuerySet) -> int:
    return set_status(papers, status=Paper.Status.PUBLISHED)


def hide(papers: QuerySet) -> int:
    return set_status(papers, status=Paper.Status.HIDDEN)


def set_featured(papers: QuerySet, *, featured: bool) -> int:
    """Feature or unfeature the papers. Returns papers changed."""
    return papers.exclude(featured=featured).update(featured=featured)


@transaction.atomic
def add_tags(papers: QuerySet, tags: Iterable[Tag]) -> int:
    """Give every paper these tags. Returns how many papers gained at least one."""
    through = Paper.tags.through
    tag_ids = {tag.pk for tag in tags}
    paper_ids = list(papers.values_list("pk", flat=True))
    existing = set(through.objects.filter(paper_id__in=paper_ids, tag_id__in=tag_ids).values_list("paper_id", "tag_id"))
    rows = [
        through(paper_id=paper_id, tag_id=tag_id)
        for paper_id in paper_ids
        for tag_id in tag_ids
        if (paper_id, tag_id) not in existing
    ]
    through.objects.bulk_create(rows, ignore_conflicts=True)
    changed = {row.paper_id for row in rows}
    paper_pages.forget(changed)
    return len(changed)


@transaction.atomic
def remove_tags(papers: QuerySet, tags: Iterable[Tag]) -> int:
    """Take these tags off every paper. Returns how many papers lost at least one."""
    rows = Paper.tags.through.objects.filter(paper__in=papers, tag__in=list(tags))
    changed = set(rows.values_list("paper_id", flat=True))
    rows.delete()
    paper_pages.forget(changed)
    return len(changed)


@transaction.atomic
def reapply_tag_rules(papers: QuerySet, *, rules: list[CompiledRule] | None = None) -> int:
    """Apply the active tag rules to the papers (tags are only added). Returns papers that gained a tag."""
    return retag(papers, rules=compiled_rules() if rules is None else rules)


@transaction.atomic
def apply_rules_everywhere(rules: QuerySet) -> int:
    """Apply these rules (active ones of active tags) to the whole catalogue. Returns papers that gained a tag."""
    compiled = [CompiledRule(rule) for rule in rules.filter(active=True, tag__active=True).select_related("tag")]
    return retag(Paper.objects.all(), rules=compiled)


def apply_tag_rules_of(tags: QuerySet) -> int:
    """Apply the rules of these tags to the whole catalogue. Returns papers that gained a tag."""
    return apply_rules_everywhere(TagRule.objects.filter(tag__in=tags))


def refresh_authors_text(paper: Paper) -> None:
    """Rewrite the denormalized byline from the ordered authorships (after an edit in the admin or a merge).

    Its stored page goes too: the byline's links (or the tags saved with them) may have changed.
    """
    paper_pages.forget([paper.pk])
    names = paper.authorships.order_by("position").values_list("author__name", flat=True)
    text = ", ".join(names)
    if text != paper.authors_text:
        paper.authors_text = text
        Paper.objects.filter(pk=paper.pk).update(authors_text=text)
