"""The docs stay short where they must, point at files that exist, and describe the code as it is."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]

README_LIMIT = 6000
FIRST_COMMANDS_WITHIN = 1500
# [text](target), [text](<target with spaces>) or [text](target "title").
LINK = re.compile(r"\[[^\]]*\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # http:, https:, mailto:, ...
ISSUE_NUMBER = re.compile(r"\bissue \d+\b", re.IGNORECASE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def relative_links(text: str) -> list[str]:
    """Every relative link target in a markdown text, outside code blocks, without its #anchor."""
    targets = []
    for bracketed, bare in LINK.findall(FENCE.sub("", text)):
        target = bracketed or bare
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_the_expected_docs_exist():
    missing = [doc_id(path) for path in DOCS if not path.is_file()]
    assert not missing, f"missing docs: {missing}"
    assert len(DOCS) > 2, "docs/ has no markdown files"


def test_readme_is_short():
    length = len(README.read_text(encoding="utf-8"))
    assert length < README_LIMIT, f"README.md is {length} characters, over {README_LIMIT}: move detail to docs/"


def test_readme_starts_with_the_two_commands():
    opening = README.read_text(encoding="utf-8")[:FIRST_COMMANDS_WITHIN]
    assert "make run" in opening
    assert "make test" in opening


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_relative_links_resolve(path):
    targets = relative_links(path.read_text(encoding="utf-8"))
    broken = [target for target in targets if not (path.parent / target).exists()]
    assert not broken, f"{doc_id(path)} links to files that do not exist: {broken}"


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_docs_do_not_name_issues(path):
    found = ISSUE_NUMBER.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{doc_id(path)} mentions {found}: docs describe how things are now, history is in commits"


def test_the_link_pattern_finds_what_it_should():
    text = (
        "[a](docs/a.md) [b](../b.md#part) [c](https://x.org) [d](mailto:x@y.z) [e](#here) "
        '[f](<docs/f g.md>) [h](h.md "title")\n```\n[code](not/a/link.md)\n```\n'
    )
    assert relative_links(text) == ["docs/a.md", "../b.md", "docs/f g.md", "h.md"]
