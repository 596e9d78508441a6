"""What a built-in guard is, and what it may use while it runs.

A guard module exposes `collect(manifest, settings) -> Iterable[GuardSpec]`;
the plugin turns each spec into one test item with the spec's id. A guard
fails by raising `GuardFailure` with a message that says what broke and how
to fix it (shown as is, without a traceback), warns with `ctx.warn()`, and
adds figures to the run summary with `ctx.summary()`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tzurot.errors import GuardFailure

if TYPE_CHECKING:
    from pytest_tzurot.config import Manifest
    from pytest_tzurot.session import SharedRun

SUMMARY_KEY = "tzurot_summary"


class GuardWarning(UserWarning):
    """A finding worth attention that does not fail the run."""


@dataclass(frozen=True)
class PluginSettings:
    """The plugin's command-line and ini settings that guards may read."""

    rootdir: Path
    keep: bool = False
    base_ref: str | None = None
    drift_dsn: str | None = None


@dataclass(frozen=True)
class GuardSpec:
    """One built-in guard test: its id (e.g. `protected_index[idx_x]`) and its check."""

    id: str
    run: Callable[[GuardContext], None]
    needs_database: bool = False


@dataclass
class GuardContext:
    """Everything a guard may use; databases it asks for are dropped after it."""

    manifest: Manifest
    settings: PluginSettings
    run_state: SharedRun
    summary_rows: list[tuple[str, str]] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def fresh_db(self, label: str = "guard") -> str:
        """DSN of a new database cloned from the migrated template (dropped after the guard)."""
        name = self.run_state.clone(label)
        self._cleanups.append(lambda: self.run_state.release(name))
        return self.run_state.janitor().dsn(name)

    def empty_db(self, label: str = "empty") -> str:
        """DSN of a new empty database (dropped after the guard)."""
        name = self.run_state.empty(label)
        self._cleanups.append(lambda: self.run_state.release(name))
        return self.run_state.janitor().dsn(name)

    def summary(self, section: str, line: str) -> None:
        """Add a line to the run summary under `section`."""
        self.summary_rows.append((section, line))

    def warn(self, message: str) -> None:
        """Report a non-failing finding in pytest's warnings summary."""
        warnings.warn(GuardWarning(message), stacklevel=2)

    def cleanup(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()


def fail(message: str) -> GuardFailure:
    """The exception a guard raises: `raise fail("what broke ... how to fix it")`."""
    return GuardFailure(message)


def iter_specs(manifest: Manifest, settings: PluginSettings) -> Iterator[GuardSpec]:
    """All guard specs of every guard module, in a stable order."""
    import importlib

    from pytest_tzurot.guards import GUARD_MODULES

    for module_name in GUARD_MODULES:
        module: Any = importlib.import_module(module_name)
        yield from module.collect(manifest, settings)
