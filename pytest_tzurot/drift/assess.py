"""Decide whether the file on disk is the applied migration up to cosmetic edits.

Cosmetic is proven only when every applied version found (side-table
fingerprint, git blob with the recorded checksum) has the current file's
fingerprint; one disagreeing source makes the edit semantic, and no source
at all leaves it unknown. Nothing here writes anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tzurot.drift.applied_version import Lookup, find
from pytest_tzurot.drift.edit import COSMETIC, SEMANTIC, Difference, classify
from pytest_tzurot.drift.git import Repo
from pytest_tzurot.migrations.checksums import matches
from pytest_tzurot.migrations.discovery import Migration
from pytest_tzurot.migrations.fingerprints import FingerprintRow
from pytest_tzurot.migrations.history import HistoryRow
from pytest_tzurot.sql.fingerprint import FingerprintError, fingerprint

UNCHANGED = "unchanged"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Assessment:
    """UNCHANGED, COSMETIC, SEMANTIC or UNKNOWN, with the proof or the reason."""

    kind: str
    detail: str
    difference: Difference | None = None


def assess(row: HistoryRow, migration: Migration, side_rows: list[FingerprintRow],
           repo: Repo | None = None) -> Assessment:
    """How the file on disk relates to what `row` applied (never raises for missing sources)."""
    if matches(row.checksum, migration.content):
        return Assessment(UNCHANGED, "the file matches the recorded checksum")
    lookup = find(row, migration.path, side_rows, repo)
    if not lookup.versions:
        return Assessment(UNKNOWN, "the applied version was not found: " + "; ".join(lookup.searched))
    try:
        current = fingerprint(migration.content.decode("utf-8"))
    except (UnicodeDecodeError, FingerprintError) as exc:
        return Assessment(SEMANTIC, f"{migration.path} cannot be read as SQL ({exc}), so no edit is provable")
    proofs: list[str] = []
    for version in lookup.versions:
        if version.content is not None:
            verdict = classify(version.content, migration.content)
            if not verdict.is_safe:
                return _semantic(version.describe(), verdict.difference, verdict.reason)
        elif version.fingerprint != current:
            difference = _difference_from_text(lookup, migration)
            reason = "" if difference else (
                f"the fingerprints differ; the statement cannot be shown because {lookup.git_note}"
            )
            return _semantic(version.describe(), difference, reason)
        proofs.append(version.describe())
    return Assessment(COSMETIC, "cosmetic edit, proved by " + " and ".join(proofs))


def _semantic(source: str, difference: Difference | None, reason: str) -> Assessment:
    where = difference.describe() if difference else (reason or "the fingerprints differ")
    return Assessment(SEMANTIC, f"the edit changes meaning (compared with {source}): {where}", difference)


def _difference_from_text(lookup: Lookup, migration: Migration) -> Difference | None:
    text = lookup.text
    if text is None or text.content is None:
        return None
    return classify(text.content, migration.content).difference


__all__ = ["COSMETIC", "SEMANTIC", "UNCHANGED", "UNKNOWN", "Assessment", "assess"]
