"""Find migrations on disk, in Prisma's layout or a flat one, in apply order.

Prisma layout: `<dir>/<timestamp>_<name>/migration.sql` (other entries such
as `migration_lock.toml` are ignored). Flat layout: `<dir>/NNNN_name.sql`,
named by the file stem. Ordering is by name, as Prisma orders folders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pytest_tzurot.errors import MigrationError


@dataclass(frozen=True)
class Migration:
    """A migration file: its name (as recorded in the history table) and raw bytes."""

    name: str
    path: Path
    content: bytes

    @property
    def checksum(self) -> str:
        """Prisma's checksum: lowercase hex SHA-256 of the file's raw bytes."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sql(self) -> str:
        """The file as text; raises MigrationError naming the file if it is not UTF-8."""
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(
                f"{self.path}: not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from None


def discover(directory: str | Path) -> list[Migration]:
    """All migrations under `directory`, ordered by name; MigrationError on a bad layout."""
    root = Path(directory)
    if not root.is_dir():
        raise MigrationError(f"{root}: migrations directory not found")
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise MigrationError(f"{root}: cannot read the migrations directory: {exc.strerror}") from None
    found: dict[str, Migration] = {}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            sql_file = entry / "migration.sql"
            if not sql_file.is_file():
                raise MigrationError(
                    f"{entry}: migration folder has no migration.sql; add it or remove the folder"
                )
            name = entry.name
        elif entry.suffix == ".sql":
            sql_file, name = entry, entry.stem
        else:
            continue  # migration_lock.toml, README and the like
        if name in found:
            raise MigrationError(
                f"{root}: migration name {name!r} is ambiguous: both {found[name].path} and {sql_file}"
            )
        try:
            content = sql_file.read_bytes()
        except OSError as exc:
            raise MigrationError(f"{sql_file}: cannot read: {exc.strerror}") from None
        found[name] = Migration(name=name, path=sql_file, content=content)
    return list(found.values())
