"""A search result's snippet: the searched words in their context, cut as SQLite's FTS5
`snippet()` cuts them, so both backends show an agent the same words. PostgreSQL's
`ts_headline` picks and trims its fragment otherwise (no ellipsis, no trailing punctuation).

FTS5's choice (fts5_aux.c): for each word found, the window of `size` words around it,
centred on the words found in it (a first find of a searched word counts 1000, another
find 1); a window starting a sentence (after `.` or `:`) is tried too, worth 100 more (120 at
the start of the text). The best window is shown from its first word to its last, with `…`
where text is cut, and whatever follows the last word when the window reaches the end.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+")  # FTS5's unicode61 words: letters and digits
ELLIPSIS = "…"


def snippet(text: str, prefixes: list[str], size: int = 12) -> str:
    """The window of `size` words of `text` that best shows the words starting with one of
    `prefixes` (any case)."""
    words = list(WORD.finditer(text))
    wanted = [p.lower() for p in prefixes]
    finds = [(at, which) for at, word in enumerate(words)
             for which, prefix in enumerate(wanted) if word[0].lower().startswith(prefix)]
    sentences = [at for at, word in enumerate(words)
                 if at == 0 or re.search(r"[.:]\s+$", text[:word.start()])]
    best, start = 0, 0
    for at, _ in finds:
        score, centred = _window(finds, at, size, len(words))
        if score > best:
            best, start = score, centred
        if len(words) > size:
            opening = max((s for s in sentences if s <= at), default=0)
            if opening < at:
                score = _window(finds, opening, size, len(words))[0] + (
                    120 if opening == 0 else 100)
                if score > best:
                    best, start = score, opening
    if not words:
        return text
    last = min(start + size, len(words)) - 1
    shown = text[words[start].start():words[last].end()]
    ending = text[words[last].end():] if start + size >= len(words) else ELLIPSIS
    return (ELLIPSIS if start > 0 else "") + shown + ending


def _window(finds: list[tuple[int, int]], at: int, size: int, count: int) -> tuple[int, int]:
    """The score of the `size` words from `at`, and where a window centred on what they hold
    would start."""
    seen: set[int] = set()
    score, first, end = 0, -1, 0
    for position, which in finds:
        if at <= position < at + size:
            score += 1 if which in seen else 1000
            seen.add(which)
            first = position if first < 0 else first
            end = position + 1
    centred = first - (size - (end - first)) // 2
    return score, max(min(centred, count - size), 0)
