"""SQLite's full-text index of papers (FTS5), stemmed as PostgreSQL stems, kept in sync by triggers.

PostgreSQL's `english` configuration stems with Snowball's English stemmer
(Porter2); FTS5's built-in `porter` tokenizer is the older Porter stemmer, and
the two disagree on common words ("negation" and "negatives" are one stem for
PostgreSQL, two for Porter). So the index stores Snowball stems: the triggers
call `paperhub_stems(text)`, a SQL function that every Django connection to
SQLite registers (papers/apps.py), and queries are stemmed by the same function
in Python. `papers_paper_fts` holds, per paper id, the stems of the title, the
authors and the abstract, in order (stop words kept, so phrases stay phrases).

Migration 0006_sqlite_search_index creates it. SQLite drops a table's triggers
when Django rebuilds that table (some ALTERs do), so after every `migrate`
`ensure_index` puts back any missing trigger and rebuilds the index. A client
without the function (the sqlite3 shell) cannot write papers: use Django.
PostgreSQL keeps its own stored tsvector (migration 0001) and needs none of this.
"""

import re
from functools import lru_cache

import snowballstemmer
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "papers_paper_fts"
FUNCTION = "paperhub_stems"
COLUMNS = ("title", "authors_text", "abstract")
# Letters and digits: what PostgreSQL's parser and FTS5's unicode61 tokenizer both call words.
TOKEN = re.compile(r"[^\W_]+")

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The Snowball English stem of one lower-case word."""
    return _stemmer.stemWord(word)


def stems(text: str | None) -> str:
    """`text` as the index stores it: the stem of each word, space-separated."""
    return " ".join(stem(word.lower()) for word in TOKEN.findall(text or ""))


_values = ", ".join(f"{FUNCTION}(new.{column})" for column in COLUMNS)
_INSERT = f"INSERT INTO {TABLE}(rowid, {', '.join(COLUMNS)}) VALUES (new.id, {_values});"
_DELETE = f"DELETE FROM {TABLE} WHERE rowid = old.id;"
CREATE_TABLE = f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({', '.join(COLUMNS)}, tokenize='unicode61')"
TRIGGERS = {
    f"{TABLE}_insert": f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON papers_paper BEGIN {_INSERT} END",
    f"{TABLE}_delete": f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON papers_paper BEGIN {_DELETE} END",
    f"{TABLE}_update": (
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF id, {', '.join(COLUMNS)} ON papers_paper "
        f"BEGIN {_DELETE} {_INSERT} END"
    ),
}
REBUILD = [
    f"DELETE FROM {TABLE}",
    f"INSERT INTO {TABLE}(rowid, {', '.join(COLUMNS)}) SELECT id, {_values.replace('new.', '')} FROM papers_paper",
]
DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS] + [f"DROP TABLE IF EXISTS {TABLE}"]


def register_function(connection: BaseDatabaseWrapper) -> None:
    """Give a SQLite connection `paperhub_stems()`, which the triggers call."""
    if connection.vendor == "sqlite" and connection.connection is not None:
        connection.connection.create_function(FUNCTION, 1, stems, deterministic=True)


def ensure_index(connection: BaseDatabaseWrapper) -> bool:
    """Create the index and its triggers where missing (SQLite only) and then rebuild it. Returns whether it did."""
    if connection.vendor != "sqlite":
        return False
    connection.ensure_connection()
    register_function(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'papers_paper'")
        if cursor.fetchone() is None:  # papers not migrated (yet)
            return False
        names = [TABLE, *TRIGGERS]
        cursor.execute(f"SELECT name FROM sqlite_master WHERE name IN ({', '.join(['%s'] * len(names))})", names)
        if len(cursor.fetchall()) == len(names):
            return False
        cursor.execute(CREATE_TABLE)
        for statement in [*TRIGGERS.values(), *REBUILD]:
            cursor.execute(statement)
    return True


def drop_index(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in DROP:
            cursor.execute(statement)


def highlight(text: str, terms, *, start_mark: str, stop_mark: str, window: int | None = None) -> str:
    """`text` with each run of words matching a wanted term (a word or phrase, compared by stem) marked.

    FTS5 cannot highlight an index of stems in the original text, so this does,
    with the same tokens and stems as the index. With `window`, only about that
    many words around the first match are kept, with "…" where text was cut.
    """
    text = text or ""
    tokens = list(TOKEN.finditer(text))
    token_stems = [stem(token.group().lower()) for token in tokens]
    wanted_runs = [[stem(word) for word in term.words] for term in terms]
    # Single words by one set lookup per token (a long query's 14 words over an abstract's 200 words
    # were 2,800 slice comparisons); runs of words (phrases) compared where they start.
    single = {run[0] for run in wanted_runs if len(run) == 1}
    marked: set[int] = {i for i, token_stem in enumerate(token_stems) if token_stem in single}
    for wanted in wanted_runs:
        if len(wanted) < 2:
            continue
        for i in range(len(tokens) - len(wanted) + 1):
            if token_stems[i] == wanted[0] and token_stems[i : i + len(wanted)] == wanted:
                marked.update(range(i, i + len(wanted)))
    first, last = 0, len(tokens)
    if window is not None and tokens:
        first = max(min(marked, default=0) - window // 4, 0)
        last = min(first + window, len(tokens))
    if not tokens:
        return text[:0] if window else text
    begin = 0 if first == 0 else tokens[first].start()
    end = len(text) if last == len(tokens) else tokens[last - 1].end()
    parts, position = [], begin
    for i in range(first, last):
        token = tokens[i]
        parts.append(text[position : token.start()])
        parts.append(f"{start_mark}{token.group()}{stop_mark}" if i in marked else token.group())
        position = token.end()
    parts.append(text[position:end])
    return ("… " if begin else "") + "".join(parts) + (" …" if end < len(text) else "")
