"""The migration runner: Prisma-compatible discovery, history, apply, status and resolve.

Python API (what a service calls at start-up; replicas serialize on the lock):

    from pytest_tzurot.migrations import deploy, status
    result = deploy(os.environ["DATABASE_URL"], "migrations")
    pending = [s for s in status(dsn, "migrations") if not s.ok]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tzurot.migrations.apply import AppliedMigration, DeployResult, PlannedMigration, deploy
    from pytest_tzurot.migrations.create import create
    from pytest_tzurot.migrations.discovery import Migration, discover
    from pytest_tzurot.migrations.history import HistoryRow
    from pytest_tzurot.migrations.lock import PRISMA_LOCK_KEY, LockTimeout
    from pytest_tzurot.migrations.resolve import resolve
    from pytest_tzurot.migrations.status import MigrationStatus, status

# Imported on first use: psycopg costs ~0.2 s, and `tzurot lint` (a pre-commit
# hook) only needs discovery.
_EXPORTS = {
    "AppliedMigration": "apply",
    "DeployResult": "apply",
    "PlannedMigration": "apply",
    "deploy": "apply",
    "create": "create",
    "Migration": "discovery",
    "discover": "discovery",
    "HistoryRow": "history",
    "PRISMA_LOCK_KEY": "lock",
    "LockTimeout": "lock",
    "resolve": "resolve",
    "MigrationStatus": "status",
    "status": "status",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "PRISMA_LOCK_KEY",
    "AppliedMigration",
    "DeployResult",
    "HistoryRow",
    "LockTimeout",
    "Migration",
    "MigrationStatus",
    "PlannedMigration",
    "create",
    "deploy",
    "discover",
    "resolve",
    "status",
]
