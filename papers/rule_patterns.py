"""The regular expressions of tag rules, on RE2 (google-re2): matching time is linear in the text.

Python's `re` backtracks: a curator's `^(\\w+\\s?)+$` against a 28-word title
took longer than a worker's time limit and hung the import. RE2 cannot
backtrack, so no pattern can do that; in exchange it has no backreferences and
no lookarounds, and such a pattern is refused when the rule is saved (as is
one that does not compile or needs more than MAX_MEMORY to run).
"""

import re2

# RE2's memory budget for one compiled pattern (its default is 8 MiB).
MAX_MEMORY = 8 << 20


class RulePatternError(ValueError):
    """A tag-rule regular expression RE2 cannot run."""


def _options() -> "re2.Options":
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_MEMORY
    return options


def compile_rule_regex(pattern: str):
    """The compiled, case-insensitive pattern; raises RulePatternError saying why RE2 refuses it."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RulePatternError(str(reason)) from exc
