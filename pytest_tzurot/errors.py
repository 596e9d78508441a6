"""The errors pytest-tzurot raises on purpose.

Every one of them carries a message meant for a person: what is wrong, where,
and what to do. The CLI prints `str(error)` on one line and exits with
`exit_code`; the pytest plugin turns them into usage errors or failed guards,
never into tracebacks.
"""

from __future__ import annotations


class TzurotError(Exception):
    """Base class: a failure with a message for a person and an exit code."""

    exit_code = 2


class ConfigError(TzurotError):
    """The guard manifest or a command-line setting is invalid (exit 2)."""


class ServerError(TzurotError):
    """A PostgreSQL server could not be started, reached or used (exit 2)."""


class MigrationError(TzurotError):
    """A migration could not be read or applied (exit 2 for input errors)."""


class GuardFailure(TzurotError):
    """A guard found a problem: what broke and how to fix it (exit 1)."""

    exit_code = 1
