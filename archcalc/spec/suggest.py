""""Did you mean ...?" in bounded time.

difflib compares a word with every candidate, each comparison quadratic in the words' lengths; a file
with thousands of misspellings against thousands of names would take minutes. So a suggestion is
sought among at most `MAX_CANDIDATES` candidates of a length that can reach the cutoff (the latest ones first: a typo
most often means a name just written), for words of at most `MAX_WORD` characters, and for at most
`MAX_SUGGESTIONS` problems of one spec (`suggestions_for_one_spec()`); later problems get none.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterable, Iterator

MAX_CANDIDATES = 300
MAX_WORD = 80
MAX_SUGGESTIONS = 25

_remaining: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("suggestions", default=None)


@contextlib.contextmanager
def suggestions_for_one_spec(budget: int = MAX_SUGGESTIONS) -> Iterator[None]:
    """Within this block, at most `budget` suggestions are computed."""
    token = _remaining.set([budget])
    try:
        yield
    finally:
        _remaining.reset(token)


def suggestion(word: Any, choices: Iterable[Any], cutoff: float = 0.6) -> str | None:
    """The closest choice to `word`, or None (also when the spec's budget of suggestions is spent)."""
    word = str(word)
    remaining = _remaining.get()
    if len(word) > MAX_WORD or (remaining is not None and remaining[0] <= 0):
        return None
    if remaining is not None:
        remaining[0] -= 1
    candidates = []
    for choice in reversed(list(choices) if not isinstance(choices, (list, tuple)) else choices):
        # difflib's ratio is at most 2·min(a, b) / (a + b): other lengths cannot reach the cutoff
        if isinstance(choice, str) and 2 * min(len(choice), len(word)) >= cutoff * (len(choice) + len(word)):
            candidates.append(choice)
            if len(candidates) >= MAX_CANDIDATES:
                break
    import difflib  # only a spec with a mistake needs it: a valid one's start-up does not pay its import

    close = difflib.get_close_matches(word, candidates[::-1], n=1, cutoff=cutoff)
    return close[0] if close else None


__all__ = ["MAX_CANDIDATES", "MAX_SUGGESTIONS", "suggestion", "suggestions_for_one_spec"]
