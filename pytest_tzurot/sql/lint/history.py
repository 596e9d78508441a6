"""The order-dependent state the lint needs across migrations: which protected indexes exist
before a given migration.

Each migration is linted on its own (it must be self-contained: a drop in one migration repaired
by the next is still a loss in the first), but a protected index that no earlier migration has
created cannot be lost yet: `DROP TABLE IF EXISTS memories` in an init migration that runs before
the index exists is no finding. The earlier migrations are simulated in order; only those that
mention a protected index or its table (a quick text check) can change the state, so the others
are skipped, which keeps a pre-commit run on one file fast in a long history.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytest_tzurot.config import ProtectedIndex


def migration_files(directory: Path) -> list[Path]:
    """The migration files of `directory` in apply order (Prisma folders and flat `.sql` files,
    by name, as the runner orders them); no validation here, `expand()` does that."""
    found: list[tuple[str, Path]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    found.append((entry.name, directory / entry.name / "migration.sql"))
                elif entry.name.endswith(".sql"):
                    found.append((entry.name[:-4], directory / entry.name))
    except OSError:
        return []
    return [path for _, path in sorted(found)]


class History:
    """Which protected indexes exist before each migration of one migrations directory."""

    def __init__(self, directory: Path, indexes: tuple[ProtectedIndex, ...]) -> None:
        self.indexes = indexes
        # Resolved once: resolving every file would cost more than reading them.
        self.files = migration_files(directory.resolve())
        self.position = {path: i for i, path in enumerate(self.files)}
        self.words = [w.lower().encode() for ix in indexes for w in (ix.name, ix.table, ix.schema)]
        self.before: list[frozenset[str]] = [frozenset()]  # present before files[i]

    def absent_before(self, path: Path) -> frozenset[str]:
        """Protected indexes no migration before `path` leaves in place; empty for a file that is not
        one of the directory's migrations (then every protected index is assumed to exist)."""
        index = self.position.get(path.resolve())
        if index is None:
            return frozenset()
        from pytest_tzurot.sql.lint import lint_migration

        while len(self.before) <= index:
            done = len(self.before) - 1
            present = self.before[-1]
            try:
                data = self.files[done].read_bytes()
            except OSError:
                data = b""
            lowered = data.lower()
            if any(word in lowered for word in self.words):
                absent = frozenset(ix.name for ix in self.indexes) - present
                text = data.decode("utf-8", errors="replace")
                _, present = lint_migration(text, str(self.files[done]), self.indexes, absent)
            self.before.append(present)
        return frozenset(ix.name for ix in self.indexes) - self.before[index]
