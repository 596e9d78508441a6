"""The migration runner: Prisma-compatible discovery, history, apply, status and resolve.

Python API (what a service calls at start-up; replicas serialize on the lock):

    from pytest_tzurot.migrations import deploy, status
    result = deploy(os.environ["DATABASE_URL"], "migrations")
    pending = [s for s in status(dsn, "migrations") if not s.ok]
"""

from pytest_tzurot.migrations.apply import AppliedMigration, DeployResult, PlannedMigration, deploy
from pytest_tzurot.migrations.create import create
from pytest_tzurot.migrations.discovery import Migration, discover
from pytest_tzurot.migrations.history import HistoryRow
from pytest_tzurot.migrations.lock import PRISMA_LOCK_KEY, LockTimeout
from pytest_tzurot.migrations.resolve import resolve
from pytest_tzurot.migrations.status import MigrationStatus, status

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
