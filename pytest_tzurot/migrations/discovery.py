"""Find migrations on disk, in Prisma's layout or a flat one, in apply order.

Prisma layout: `<dir>/<timestamp>_<name>/migration.sql` (other entries such
as `migration_lock.toml` are ignored). Flat layout: `<dir>/NNNN_name.sql`,
named by the file stem. Ordering is by name, as Prisma orders folders.

`discover()` validates every file before anything runs: a folder without
`migration.sql`, a file that is not UTF-8 or holds no statement, duplicate or
ambiguous names and unreadable paths are `MigrationError`s naming the path.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations.checksums import checksum

if TYPE_CHECKING:
    from pytest_tzurot.sql.split import Statement

MIGRATION_FILE = "migration.sql"
NAME_LIMIT = 255  # _prisma_migrations.migration_name is VARCHAR(255)
# `-- tzurot: no-transaction` on the first line runs the migration statement by statement.
_NO_TRANSACTION = re.compile(r"^\s*--\s*tzurot\s*:\s*no[-_ ]transaction\s*$", re.I)
_FLAT_NAME = re.compile(r"^(?P<version>\d+)_")


@dataclass(frozen=True)
class Migration:
    """A migration file: its name (as recorded in the history table) and raw bytes."""

    name: str
    path: Path
    content: bytes

    @property
    def checksum(self) -> str:
        """Prisma's checksum: lowercase hex SHA-256 of the file's raw bytes."""
        return checksum(self.content)

    @property
    def sql(self) -> str:
        """The file as text; raises MigrationError naming the file if it is not UTF-8."""
        try:
            text = self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.content.count(b"\n", 0, exc.start) + 1
            raise MigrationError(
                f"{self.path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                "re-save the file as UTF-8"
            ) from None
        return text[1:] if text.startswith("\ufeff") else text

    @cached_property
    def statements(self) -> list[Statement]:
        """The file's statements in order; MigrationError (file:line) if a quote never closes."""
        from pytest_tzurot.sql.split import UnterminatedError, split

        try:
            return split(self.sql)
        except UnterminatedError as exc:
            raise MigrationError(f"{self.path}:{exc.line}:{exc.column}: {exc}; close it") from None

    def validate(self) -> None:
        """Raise MigrationError (naming the file) if it is not UTF-8, has an unterminated quote,
        or holds no statement at all."""
        if not self.statements:
            raise MigrationError(
                f"{self.path}: empty migration (no SQL statement); add its SQL or delete the "
                f"{'folder' if self.path.name == MIGRATION_FILE else 'file'}"
            )

    @property
    def no_transaction_directive(self) -> bool:
        """Whether the first line is the `-- tzurot: no-transaction` directive."""
        first = self.sql.split("\n", 1)[0]
        return bool(_NO_TRANSACTION.match(first))


def _check_readable_dir(path: Path, what: str) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MigrationError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise MigrationError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise MigrationError(f"{path}: the {what} is not a directory; point --dir or migrations.dir at one")
    if not os.access(path, os.R_OK | os.X_OK):
        raise MigrationError(f"{path}: cannot read the {what}: permission denied; fix its permissions")


def _read_file(path: Path, folder: Path | None = None) -> bytes:
    """The file's bytes; MigrationError naming it (or its unreadable `folder`) when it cannot
    be read. One open, fstat and read: no separate existence or permission checks first."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if folder is not None and not os.path.islink(path):
            raise MigrationError(
                f"{folder}: migration folder has no {MIGRATION_FILE}; add it or remove the folder"
            ) from None
        raise MigrationError(f"{path}: cannot read: No such file or directory") from None
    except OSError as exc:
        if folder is not None and not os.access(folder, os.X_OK):
            raise MigrationError(
                f"{folder}: cannot read the migration folder: permission denied; fix its permissions"
            ) from None
        raise MigrationError(f"{path}: cannot read: {exc.strerror}; fix its permissions") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        # A FIFO or a device would block or read garbage; a directory cannot be read.
        raise MigrationError(f"{path}: not a regular file; a migration must be a plain .sql file")
    with open(fd, "rb") as file:
        try:
            return file.read()
        except OSError as exc:
            raise MigrationError(f"{path}: cannot read: {exc.strerror}; fix its permissions") from None


def _entry(entry: os.DirEntry[str]) -> tuple[str, Path, Path | None] | None:
    """(name, sql file, its migration folder or None for a flat file) for a directory entry
    that is a migration, None for one to ignore."""
    name = entry.name
    if name.startswith("."):
        return None
    if entry.is_dir():
        folder = Path(entry.path)
        return name, folder / MIGRATION_FILE, folder
    if name.endswith(".sql"):
        stem = name[: -len(".sql")]
        if not _FLAT_NAME.match(stem):
            raise MigrationError(
                f"{entry.path}: a flat-layout migration must be named NNNN_name.sql (a number first, "
                "for the order); rename it"
            )
        return stem, Path(entry.path), None
    return None  # migration_lock.toml, README and the like


def discover(directory: str | Path, *, validate: bool = True) -> list[Migration]:
    """All migrations under `directory`, ordered by name.

    Raises MigrationError (naming the path) on a bad layout, an unreadable or
    non-UTF-8 file, and (with `validate`) a file without a statement or with an
    unterminated quote; never returns a partial list. The runner validates only
    the migrations it is about to apply (Prisma records empty migrations too).
    """
    root = Path(directory)
    _check_readable_dir(root, "migrations directory")
    try:
        with os.scandir(root) as listing:  # file types come with the listing: no stat per entry
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise MigrationError(f"{root}: cannot read the migrations directory: {exc.strerror}") from None
    found: dict[str, Migration] = {}
    folded: dict[str, str] = {}
    versions: dict[str, str] = {}
    for entry in entries:
        named = _entry(entry)
        if named is None:
            continue
        name, sql_file, folder = named
        if name in found:
            raise MigrationError(
                f"{root}: migration name {name!r} is ambiguous: both {found[name].path} and {sql_file}; "
                "keep one"
            )
        if name.lower() in folded:
            raise MigrationError(
                f"{root}: migration names {folded[name.lower()]!r} and {name!r} differ only in case; "
                "rename one"
            )
        if len(name) > NAME_LIMIT:
            raise MigrationError(f"{sql_file}: migration name over {NAME_LIMIT} characters; shorten it")
        if folder is None:  # flat layout: two files with one version number have no defined order
            version = _FLAT_NAME.match(name).group("version")  # type: ignore[union-attr]
            if version in versions:
                raise MigrationError(
                    f"{root}: migrations {versions[version]!r} and {name!r} share version {version}; "
                    "renumber one"
                )
            versions[version] = name
        migration = Migration(name=name, path=sql_file, content=_read_file(sql_file, folder))
        migration.sql  # noqa: B018 - raises on a file that is not UTF-8
        if validate:
            migration.validate()
        found[name] = migration
        folded[name.lower()] = name
    return list(found.values())
