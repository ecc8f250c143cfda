"""The search box's syntax, read the way PostgreSQL's `websearch_to_tsquery` reads it.

    word other      both words (AND)
    a b or c d      a and b, or else c and d (`or` binds looser than the implicit AND)
    "exact phrase"  the words next to each other, in order
    -word, -"a b"   without that word or phrase

PostgreSQL parses the query itself; for SQLite's FTS5 `fts5_query` writes the
same query in FTS5's syntax, each word stemmed as the index is (papers/fts.py),
so both engines find the same papers (the shared suite
tests/papers/test_search_syntax.py runs on each). English stop words outside
quotes are dropped, as PostgreSQL's `english` configuration drops them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_TERMS = 12
# Letters and digits, as PostgreSQL's parser and papers/fts.py split words.
_WORD = re.compile(r"[^\W_]+")
# A quote starts a phrase anywhere (`NEAR("a"` is a word, then a phrase), as in PostgreSQL.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|([^\s"]+)')

# PostgreSQL's english.stop (the Snowball list).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while
    of at by for with about against between into through during before after above below to from up down in out
    on off over under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don should now""".split()
)


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of several words (quoted, or joined by punctuation as in `self-supervised`)."""

    words: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Alternative:
    """Papers with every `wanted` term and none of the `excluded` ones."""

    wanted: tuple[Term, ...]
    excluded: tuple[Term, ...]


@dataclass(frozen=True)
class Query:
    """A paper matches when it matches any alternative (`a b or c -d` is (a AND b) OR (c AND NOT d))."""

    alternatives: tuple[Alternative, ...]

    def __bool__(self) -> bool:
        return bool(self.alternatives)

    @property
    def wanted(self) -> list[Term]:
        """Every wanted term (what a highlight marks)."""
        return [term for alternative in self.alternatives for term in alternative.wanted]


def _term(text: str, *, negated: bool) -> Term | None:
    # Stop words inside a phrase stay, so it still needs them in place ("state of the art").
    words = tuple(w.lower() for w in _WORD.findall(text))
    if all(w in STOP_WORDS for w in words):  # also when there are no words at all
        return None
    return Term(words, negated)


def parse(query: str) -> Query:
    """The query's alternatives, as websearch_to_tsquery reads it. At most MAX_TERMS terms; never fails."""
    alternatives: list[tuple[list[Term], list[Term]]] = [([], [])]
    count = 0
    for match in _TOKEN.finditer(query):
        if count >= MAX_TERMS:
            break
        minus, phrase, bare = match.groups()
        if bare is not None and bare.lower() == "or":
            if alternatives[-1] != ([], []):
                alternatives.append(([], []))
            continue
        if bare is not None:
            negated = bare.startswith("-") and len(bare) > 1
            term = _term(bare[1:] if negated else bare, negated=negated)
        else:
            term = _term(phrase, negated=bool(minus))
        if term is not None:
            count += 1
            alternatives[-1][1 if term.negated else 0].append(term)
    return Query(tuple(Alternative(tuple(w), tuple(x)) for w, x in alternatives if w or x))


def _fts5_term(term: Term, stem: Callable[[str], str]) -> str:
    # A double-quoted FTS5 string is a phrase of its tokens, and nothing inside it is syntax.
    return '"' + " ".join(stem(word) for word in term.words).replace('"', '""') + '"'


def _same(word: str) -> str:
    return word


def fts5_query(query: Query, stem: Callable[[str], str] = _same) -> str:
    """FTS5 MATCH syntax for the alternatives that want some term ("" if none does).

    An alternative made only of exclusions (`-word`, `x or -y`) cannot be written
    in FTS5, which has no unary NOT: see `exclusion_only`.
    """
    clauses = []
    for alternative in query.alternatives:
        if not alternative.wanted:
            continue
        expression = " AND ".join(_fts5_term(term, stem) for term in alternative.wanted)
        for term in alternative.excluded:
            expression = f"({expression}) NOT {_fts5_term(term, stem)}"
        clauses.append(f"({expression})" if len(query.alternatives) > 1 else expression)
    return " OR ".join(clauses)


def exclusion_only(query: Query, stem: Callable[[str], str] = _same) -> list[str]:
    """For each alternative without a wanted term, FTS5 syntax for what it excludes (a paper matching none fits)."""
    return [
        " OR ".join(_fts5_term(term, stem) for term in alternative.excluded)
        for alternative in query.alternatives
        if not alternative.wanted
    ]
