"""Semantic fingerprint of a migration (placeholder: normalised text).

Contract: `fingerprint(sql: str) -> str` returns a hex digest that ignores
whitespace, comments, keyword case and terminator style, and changes with
anything that changes meaning. The sqlglot-based version replaces this body.
"""

from __future__ import annotations

import hashlib
import re

from pytest_tzurot.sql.split import split, strip_comments


def fingerprint(sql: str) -> str:
    """A hex digest of the script's statements with comments and layout removed."""
    parts = [re.sub(r"\s+", " ", strip_comments(stmt.text)).strip() for stmt in split(sql)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
