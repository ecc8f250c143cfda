"""The normalized record every parser yields and the upsert service consumes."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PaperRecord:
    """One paper as read from a source, before it touches the database.

    `arxiv_id` is stored without its version (which goes to `arxiv_version`);
    URLs are http(s) or empty; `tags` are tag slugs; `position` names where the
    record stood in its source (a line number or an index) for error messages.
    """

    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    arxiv_id: str = ""
    arxiv_version: int | None = None
    doi: str = ""
    published_at: datetime | None = None
    updated_at: datetime | None = None
    primary_category: str = ""
    categories: list[str] = field(default_factory=list)
    journal_ref: str = ""
    comment: str = ""
    abs_url: str = ""
    pdf_url: str = ""
    code_url: str = ""
    tags: list[str] = field(default_factory=list)
    source: str = "manual"
    position: str = ""
    # Set by clean_record: the normalized title (identity of last resort) and the
    # byline as {normalized name: name}, computed once per record.
    title_key: str = field(default="", repr=False, compare=False)
    byline: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


class RecordError(ValueError):
    """A record (or a whole source) that cannot be imported, with where and why."""

    def __init__(self, message: str, *, position: str = ""):
        self.position = position
        self.reason = message
        super().__init__(f"{position}: {message}" if position else message)
