"""The migration runner: Prisma-compatible discovery, history, apply and drift."""

from pytest_tzurot.migrations.apply import deploy
from pytest_tzurot.migrations.discovery import Migration, discover

__all__ = ["Migration", "deploy", "discover"]
