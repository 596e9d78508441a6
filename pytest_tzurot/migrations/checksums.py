"""Prisma's migration checksum and the line-ending tolerance it applies when comparing.

The checksum is the lowercase hex SHA-256 of the file's raw bytes, never
normalised when written. When comparing a recorded checksum with a file,
Prisma also accepts the file with CRLF turned into LF and with LF turned into
CRLF, so a checkout with other line endings does not look edited.
"""

from __future__ import annotations

import hashlib
import re

_LONE_LF = re.compile(rb"(?<!\r)\n")


def checksum(content: bytes) -> str:
    """Lowercase hex SHA-256 of `content`, exactly as Prisma records it."""
    return hashlib.sha256(content).hexdigest()


def variants(content: bytes) -> tuple[bytes, ...]:
    """`content` as-is, with CRLF -> LF, and with LF -> CRLF (the forms Prisma accepts)."""
    as_lf = content.replace(b"\r\n", b"\n")
    as_crlf = _LONE_LF.sub(b"\r\n", content)
    return (content, as_lf, as_crlf)


def matches(recorded: str, content: bytes) -> bool:
    """True when `recorded` is the checksum of `content` in one of its accepted line-ending forms."""
    wanted = recorded.strip().lower()
    return any(checksum(form) == wanted for form in variants(content))
