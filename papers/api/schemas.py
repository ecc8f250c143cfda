"""The API's JSON shapes as pydantic models: they document the OpenAPI schema and check every answer."""

from ninja import Schema


class Author(Schema):
    name: str


class TagRef(Schema):
    slug: str
    name: str


class Trending(Schema):
    day: float
    week: float
    month: float


class Links(Schema):
    html: str
    api: str
    abs: str | None
    pdf: str | None


class PaperOut(Schema):
    """Hugging Face's `/api/papers/{id}` fields, then paperhub's."""

    id: str
    title: str
    summary: str
    authors: list[Author]
    publishedAt: str | None  # noqa: N815 (Hugging Face's field name)
    upvotes: int
    githubRepo: str | None  # noqa: N815
    slug: str
    arxivVersion: int | None  # noqa: N815
    doi: str | None
    categories: list[str]
    bookmarks: int
    tags: list[TagRef]
    trending: Trending
    links: Links


class DailyPaperOut(Schema):
    """An item of Hugging Face's `/api/daily_papers` list."""

    paper: PaperOut
    publishedAt: str | None  # noqa: N815
    title: str
    summary: str


class TagOut(Schema):
    slug: str
    name: str
    description: str
    papers: int
    links: dict[str, str]


class FieldError(Schema):
    field: str
    message: str


class Error(Schema):
    detail: str
    errors: list[FieldError] = []


class TokenInfo(Schema):
    """Who a token belongs to (`GET /api/me`)."""

    username: str
    email: str


class Reaction(Schema):
    """The reader's state after a PUT or DELETE, and the paper's count."""

    paper: str
    active: bool
    count: int
