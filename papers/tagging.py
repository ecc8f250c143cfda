"""Tag rules: which tags a paper gets from its title, abstract and categories."""

import logging
import re
from collections.abc import Iterable

from . import paper_pages
from .models import Paper, Tag, TagRule
from .rule_patterns import RulePatternError, compile_rule_regex

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+")


def _tokens(text: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(text.casefold()))


class CompiledRule:
    def __init__(self, rule: TagRule):
        self.tag_id = rule.tag_id
        self.kind = rule.kind
        # For keyword rules: the words each keyword needs in a text before its regex can match.
        # Checking those against the text's words first skips most regex scans (200 rules made
        # tagging most of an import's time; bench/README.md). None: always run the regex.
        self.required: list[frozenset[str]] | None = None
        if rule.kind == TagRule.Kind.KEYWORDS:
            words = [w.strip() for w in rule.pattern.split(",") if w.strip()]
            self.regex = (
                re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE) if words else None
            )
            required = [_tokens(w) for w in words]
            self.required = None if any(not r for r in required) else required
        elif rule.kind == TagRule.Kind.REGEX:
            try:
                self.regex = compile_rule_regex(rule.pattern)
            except RulePatternError as exc:  # saved before RE2 (or through the shell): it matches nothing
                logger.warning("tag rule %s is skipped: RE2 cannot run %r (%s)", rule.pk, rule.pattern, exc)
                self.regex = None
        else:
            self.regex = None
            self.category = rule.pattern.strip()

    def matches(self, *, text: str, categories: Iterable[str], tokens: frozenset[str] | None = None) -> bool:
        if self.kind == TagRule.Kind.CATEGORY:
            return self.category in categories
        if tokens is not None and self.required is not None and not any(r <= tokens for r in self.required):
            return False
        return bool(self.regex and self.regex.search(text))


def compiled_rules() -> list[CompiledRule]:
    """Active rules of active tags, compiled once for a batch of papers."""
    rules = TagRule.objects.filter(active=True, tag__active=True).select_related("tag")
    return [CompiledRule(rule) for rule in rules]


def matching_tag_ids(paper: Paper, rules: list[CompiledRule]) -> set[int]:
    text = f"{paper.title}\n{paper.abstract}"
    categories = set(paper.categories or []) | {paper.primary_category}
    tokens = _tokens(text)
    return {rule.tag_id for rule in rules if rule.matches(text=text, categories=categories, tokens=tokens)}


def _apply(papers: Iterable[Paper], rules: list[CompiledRule], *, touch: bool = True) -> list:
    """Insert the paper-tag rows the rules call for and the papers lack; returns the rows inserted."""
    through = Paper.tags.through
    papers = list(papers)
    if not rules or not papers:
        return []
    existing = set(through.objects.filter(paper__in=papers).values_list("paper_id", "tag_id"))
    new_rows = []
    for paper in papers:
        for tag_id in matching_tag_ids(paper, rules):
            if (paper.pk, tag_id) not in existing:
                new_rows.append(through(paper_id=paper.pk, tag_id=tag_id))
    through.objects.bulk_create(new_rows, ignore_conflicts=True)
    paper_pages.forget((row.paper_id for row in new_rows), touch=touch)
    return new_rows


def apply_tag_rules(papers: Iterable[Paper], rules: list[CompiledRule] | None = None, *, touch: bool = True) -> int:
    """Add the tags the rules give each paper (never removes a tag). Returns tags added.

    `touch`: as papers/paper_pages.py `forget` (False for an import's papers)."""
    rules = compiled_rules() if rules is None else rules
    return len(_apply(papers, rules, touch=touch))


def retag(papers, *, rules: list[CompiledRule] | None = None, chunk_size: int = 1000) -> int:
    """Apply the rules to every paper of a queryset, a chunk at a time. Returns how many papers gained a tag."""
    rules = compiled_rules() if rules is None else rules
    if not rules:
        return 0
    changed: set[int] = set()
    chunk: list[Paper] = []
    fields = ("id", "title", "abstract", "categories", "primary_category")
    for paper in papers.only(*fields).order_by("pk").iterator(chunk_size=chunk_size):
        chunk.append(paper)
        if len(chunk) >= chunk_size:
            changed.update(row.paper_id for row in _apply(chunk, rules))
            chunk = []
    changed.update(row.paper_id for row in _apply(chunk, rules))
    return len(changed)


def tags_for_slugs(slugs: Iterable[str]) -> list[Tag]:
    """Tags by slug, creating those that do not exist yet (named after the slug)."""
    slugs = [s for s in dict.fromkeys(slugs) if s]
    found = {t.slug: t for t in Tag.objects.filter(slug__in=slugs)}
    for slug in slugs:
        if slug not in found:
            found[slug] = Tag.objects.create(slug=slug, name=slug.replace("-", " "))
    return [found[s] for s in slugs]
