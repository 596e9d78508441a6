"""Find the version of a migration the database actually applied.

Two sources, both optional: (a) the runner's `_tzurot_fingerprints` side
table (the fingerprint recorded when it applied the file), and (b) git
history: any committed version of the file, on any ref, whose SHA-256 is the
checksum in the history table (this covers databases migrated by Prisma).
`find()` never raises for a missing source; it says what it searched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_tzurot.drift.git import GitError, Repo, find_repo
from pytest_tzurot.migrations.checksums import matches
from pytest_tzurot.migrations.fingerprints import FingerprintRow
from pytest_tzurot.migrations.history import HistoryRow
from pytest_tzurot.sql.fingerprint import ALGORITHM, is_current

SIDE_TABLE = "side table"
GIT = "git"


@dataclass(frozen=True)
class AppliedVersion:
    """One source's view of the applied version: its fingerprint, and its text when git has it."""

    source: str
    fingerprint: str | None = None
    content: bytes | None = None
    commit: str | None = None

    def describe(self) -> str:
        if self.source == GIT:
            return f"git commit {(self.commit or '?')[:12]}"
        return "the _tzurot_fingerprints side table"


@dataclass(frozen=True)
class Lookup:
    """Every applied version found, and what was searched (for a refusal message)."""

    versions: list[AppliedVersion] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    git_note: str = ""  # why git history gave no text, when it did not

    @property
    def text(self) -> AppliedVersion | None:
        """The first version that has the applied text (git), if any."""
        return next((v for v in self.versions if v.content is not None), None)


def find(row: HistoryRow, path: Path | None, side_rows: list[FingerprintRow],
         repo: Repo | None = None) -> Lookup:
    """The applied versions of `row`'s migration found in the side table and in git history."""
    versions: list[AppliedVersion] = []
    searched: list[str] = []
    side = side_row(row, side_rows)
    if side is None:
        searched.append(f"no _tzurot_fingerprints row for {row.migration_name} (applied by another tool?)")
    elif side.fingerprint is None:
        searched.append("its _tzurot_fingerprints row has no fingerprint (the SQL could not be read)")
    elif not is_current(side.fingerprint):
        searched.append(f"its _tzurot_fingerprints row was recorded by an older fingerprint algorithm "
                        f"(this one is {ALGORITHM})")
    else:
        versions.append(AppliedVersion(SIDE_TABLE, fingerprint=side.fingerprint))
    wanted = [row.checksum] + ([side.checksum] if side is not None else [])
    found, note = _from_git(path, wanted, repo)
    if found is not None:
        versions.append(found)
    else:
        searched.append(note)
    return Lookup(versions, searched, note)


def side_row(row: HistoryRow, side_rows: list[FingerprintRow]) -> FingerprintRow | None:
    """The side-table row describing what `row` applied: same checksum, else the latest one
    recorded since the row started (an older row may describe a version rolled back since)."""
    mine = [r for r in side_rows if r.migration_name == row.migration_name]
    exact = [r for r in mine if r.checksum.lower() == row.checksum.strip().lower()]
    if exact:
        return exact[-1]
    recent = [r for r in mine if r.recorded_at >= row.started_at]
    return recent[-1] if recent else None


def _from_git(
    path: Path | None, checksums: list[str], repo: Repo | None
) -> tuple[AppliedVersion | None, str]:
    if path is None:
        return None, "no file on disk to look up in git history"
    repo = repo or find_repo(path)
    if repo is None:
        return None, f"{path} is not in a git checkout, so its history cannot be searched"
    try:
        relative = repo.relative(path)
        blobs = repo.path_blobs(relative)
        contents = repo.read_blobs([blob for blob, _ in blobs])
    except (GitError, ValueError) as exc:
        return None, f"git history could not be read: {exc}"
    for blob, commit in blobs:
        content = contents.get(blob)
        if content is not None and any(matches(c, content) for c in checksums):
            return AppliedVersion(GIT, content=content, commit=commit), ""
    return None, (
        f"none of the {len(blobs)} committed version(s) of {relative} (git log --all) has checksum "
        f"{checksums[0][:12]}…"
    )
