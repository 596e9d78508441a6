"""Classify the edit between two versions of a migration: none, cosmetic or semantic.

`classify(old, new)` never raises: text that is not UTF-8 or cannot be
split compares by bytes only, so anything unprovable counts as semantic.
A semantic verdict carries the first statement that differs, both versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pytest_tzurot.migrations.checksums import checksum, matches
from pytest_tzurot.sql.fingerprint import FingerprintError, StatementPrint, statement_prints

IDENTICAL = "identical"  # same bytes, or only line endings Prisma tolerates
COSMETIC = "cosmetic"  # same fingerprint: comments, layout, keyword case, terminators
SEMANTIC = "semantic"  # anything else

_SHOWN = 300  # characters of a statement quoted in a message


@dataclass(frozen=True)
class Difference:
    """The first differing statement; `old` or `new` is None when a statement was added or removed."""

    index: int
    old: StatementPrint | None
    new: StatementPrint | None

    def describe(self) -> str:
        """One line: which statement and both versions (quoted, shortened)."""
        if self.old is None and self.new is not None:
            return f"statement {self.index} (line {self.new.line}) was added: {quote(self.new.text)}"
        if self.new is None and self.old is not None:
            return f"statement {self.index} (line {self.old.line}) was removed: {quote(self.old.text)}"
        assert self.old is not None and self.new is not None
        old, new = excerpts(self.old.text, self.new.text)
        if old == new:  # the difference is layout inside a literal or body: show it exactly
            old, new = excerpts(self.old.text, self.new.text, exact=True)
        return (
            f"statement {self.index} differs: applied (line {self.old.line}) {old}, "
            f"now (line {self.new.line}) {new}"
        )


@dataclass(frozen=True)
class Verdict:
    """What kind of edit turns `old` into `new`, and for a semantic one, where."""

    kind: str
    difference: Difference | None = None
    reason: str = ""

    @property
    def is_safe(self) -> bool:
        return self.kind in (IDENTICAL, COSMETIC)


def classify(old: bytes, new: bytes) -> Verdict:
    """IDENTICAL, COSMETIC or SEMANTIC (with the first differing statement when known)."""
    if matches(checksum(old), new):
        return Verdict(IDENTICAL)
    try:
        old_prints = statement_prints(old.decode("utf-8"))
        new_prints = statement_prints(new.decode("utf-8"))
    except UnicodeDecodeError:
        return Verdict(SEMANTIC, reason="a version is not UTF-8 text, so only bytes can be compared")
    except FingerprintError as exc:
        return Verdict(SEMANTIC, reason=f"a version cannot be read as SQL ({exc})")
    difference = first_difference(old_prints, new_prints)
    return Verdict(COSMETIC) if difference is None else Verdict(SEMANTIC, difference)


def first_difference(old: list[StatementPrint], new: list[StatementPrint]) -> Difference | None:
    """The first position where the statement fingerprints differ, or None when all are equal."""
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a is None or b is None or a.digest != b.digest:
            return Difference(i + 1, a, b)
    return None


def quote(text: str, exact: bool = False) -> str:
    """A statement on one line, shortened for a message (`exact`: whitespace kept, escaped)."""
    return excerpts(text, text, exact=exact)[0]


def excerpts(old: str, new: str, exact: bool = False) -> tuple[str, str]:
    """Both statements on one line; when long, both cut to the same window around the first
    character where they differ, so the difference is always visible."""
    a, b = (json.dumps(t, ensure_ascii=False)[1:-1] if exact else " ".join(t.split()) for t in (old, new))
    if max(len(a), len(b)) <= _SHOWN:
        return f"`{a}`", f"`{b}`"
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    start = max(0, min(first - _SHOWN // 3, max(len(a), len(b)) - _SHOWN))
    cut = [("..." if start else "") + t[start : start + _SHOWN] + ("..." if start + _SHOWN < len(t) else "")
           for t in (a, b)]
    return f"`{cut[0]}`", f"`{cut[1]}`"
