"""`create`: a new, empty Prisma-layout migration `<UTC yyyymmddHHMMSS>_<snake_name>/migration.sql`."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from pytest_tzurot.errors import ConfigError, MigrationError
from pytest_tzurot.migrations.discovery import MIGRATION_FILE

_NON_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(name: str) -> str:
    """`Add Memories-Index` / `addMemoriesIndex` -> `add_memories_index`; ConfigError if nothing is left."""
    snake = _NON_WORD.sub("_", _CAMEL.sub("_", name.strip()).lower()).strip("_")
    if not snake:
        raise ConfigError(f"migration name {name!r} has no letters or digits; give a descriptive name")
    return snake


def create(directory: str | Path, name: str, *, now: datetime | None = None) -> Path:
    """Create the migration folder and its file; return the file. Never overwrites anything.

    Raises ConfigError (unusable name) or MigrationError (exists, or cannot write).
    """
    root = Path(directory)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")
    folder = root / f"{stamp}_{snake_case(name)}"
    if len(folder.name) > 255:
        raise ConfigError(f"migration name {name!r} is too long; shorten it")
    try:
        root.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        with (folder / MIGRATION_FILE).open("x", encoding="utf-8") as out:
            out.write(f"-- {folder.name}: write the migration's SQL here.\n")
    except FileExistsError:
        raise MigrationError(f"{folder}: already exists; wait a second or choose another name") from None
    except OSError as exc:
        raise MigrationError(f"{folder}: cannot create: {exc.strerror}") from None
    return folder / MIGRATION_FILE
