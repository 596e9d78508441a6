"""Guard items for edited migrations: `migration_edit[...]` (git, no database) and `drift[...]`.

`migration_edit[<name>]`, one per migration that exists at the base ref
(`--tzurot-base-ref`, default the merge-base of HEAD with origin/main, else
main): passes when the file is unchanged, passes with a summary note when
the edit is cosmetic, fails when it changes meaning (naming the first
differing statement) and when the file was deleted or renamed. Outside a
git checkout there is one skipped item saying so.

`drift[<name>]` (only with `--tzurot-drift-dsn`, e.g. staging): `tzurot drift
check` against that database as guard items, over a read-only connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_tzurot.config import Manifest
from pytest_tzurot.drift import base_ref
from pytest_tzurot.drift.edit import COSMETIC, IDENTICAL, classify
from pytest_tzurot.drift.git import GitError, Repo, find_repo
from pytest_tzurot.errors import TzurotError
from pytest_tzurot.guards.base import GuardContext, GuardSpec, PluginSettings, fail
from pytest_tzurot.migrations.discovery import Migration, discover

if TYPE_CHECKING:
    from pytest_tzurot.drift.check import DriftReport

EDIT_SECTION = "migration edits"
LIVE_SECTION = "drift"


def collect(manifest: Manifest, settings: PluginSettings) -> Iterable[GuardSpec]:
    yield from _edit_specs(manifest, settings)
    if settings.drift_dsn:
        yield from _live_specs(manifest, settings.drift_dsn)


# -- migration_edit[...]: the working tree against the base ref ----------------
@dataclass(frozen=True)
class BaseMigration:
    """A migration as committed at the base ref."""

    name: str
    path: str  # relative to the repository root
    content: bytes


def _edit_specs(manifest: Manifest, settings: PluginSettings) -> Iterator[GuardSpec]:
    directory = manifest.migrations.dir
    repo = find_repo(directory if directory.exists() else manifest.path.parent)
    if repo is None:
        yield _skipped("no-git", f"{directory} is not in a git checkout (or git is missing): cannot tell "
                       "which migrations were already applied; run the guard in a checkout")
        return
    try:
        base = base_ref.resolve(repo, settings.base_ref)
    except GitError as exc:
        if settings.base_ref:
            yield _failing("base-ref", str(exc))
        else:
            yield _skipped("no-base-ref", str(exc))
        return
    try:
        rel_dir = repo.relative(directory)
        committed = _migrations_at(repo, base.commit, rel_dir)
    except ValueError:
        yield _skipped("outside-repo", f"{directory} is outside the git checkout {repo.root}")
        return
    except GitError as exc:
        yield _failing("base-ref", str(exc))
        return
    if not committed:  # one passing item, so `-k migration_edit` never selects nothing (exit 5)
        yield GuardSpec("migration_edit[none-at-base]", _note(
            f"no migrations under {rel_dir} at {base.describe()}: nothing applied to protect yet"))
        return
    names = frozenset(m.name for m in committed)
    for migration in committed:
        yield GuardSpec(f"migration_edit[{migration.name}]",
                        _edit_check(repo, base, migration, directory, names))


def _migrations_at(repo: Repo, commit: str, rel_dir: str) -> list[BaseMigration]:
    """The migrations under `rel_dir` at `commit`, found with the runner's layout rules."""
    files = repo.tree(commit, rel_dir)
    prefix = "" if rel_dir in ("", ".") else rel_dir.rstrip("/") + "/"
    found: dict[str, str] = {}
    for path in files:
        parts = path[len(prefix):].split("/")
        if parts[0].startswith("."):
            continue
        if len(parts) == 2 and parts[1] == "migration.sql":
            found.setdefault(parts[0], path)
        elif len(parts) == 1 and parts[0].endswith(".sql"):
            found.setdefault(parts[0][: -len(".sql")], path)
    blobs = repo.read_blobs([files[p] for p in found.values()])
    return [BaseMigration(name, path, blobs[files[path]]) for name, path in sorted(found.items())]


def _edit_check(repo: Repo, base: base_ref.BaseRef, old: BaseMigration, directory: Path,
                base_names: frozenset[str]) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        current = repo.root / old.path
        since = f"since {base.ref} ({base.short})"
        if not current.is_file():
            twin = _renamed_to(old, directory, base_names)
            if twin is not None:
                raise fail(
                    f"{old.name}: renamed to {twin.name} {since}. The history table records applied "
                    f"migrations by name, so deploys would see {old.name} missing and run {twin.name} again; "
                    f"restore the original name (git mv back to {old.path})"
                )
            raise fail(
                f"{old.name}: {old.path} was deleted {since}, but it is applied wherever {base.ref} was "
                f"deployed. Restore it (git checkout {base.short} -- {old.path}); to undo what it did, "
                "add a new migration instead"
            )
        try:
            content = current.read_bytes()
        except OSError as exc:
            raise fail(f"{old.name}: cannot read {old.path}: {exc.strerror}") from None
        verdict = classify(old.content, content)
        if verdict.kind == IDENTICAL:
            return
        if verdict.kind == COSMETIC:
            ctx.summary(EDIT_SECTION, f"{old.name}: cosmetic edit {since} (comments/layout/case only); "
                        f"databases that applied it need `tzurot drift fix {old.name}`")
            return
        what = verdict.difference.describe() if verdict.difference else verdict.reason
        raise fail(
            f"{old.name}: {old.path} changed {since} and the change alters what it does: {what}. "
            f"Applied migrations are history: revert the edit (git checkout {base.short} -- {old.path}) "
            "and add a new migration instead"
        )

    return run


def _renamed_to(old: BaseMigration, directory: Path, base_names: frozenset[str]) -> Migration | None:
    """A migration added since the base ref with the same statements as `old`, if any."""
    try:
        current = discover(directory)
    except TzurotError:
        return None
    for migration in current:
        if migration.name not in base_names and classify(old.content, migration.content).is_safe:
            return migration
    return None


# -- drift[...]: a live database, read-only ------------------------------------
# One read of the drift database per process, shared by its items (an error is kept too).
_LIVE: dict[tuple[str, str, str], object] = {}


def _live_specs(manifest: Manifest, dsn: str) -> Iterator[GuardSpec]:
    directory, table = manifest.migrations.dir, manifest.migrations.history_table
    try:
        names = [m.name for m in discover(directory)]
    except TzurotError as exc:
        yield _failing("drift[discovery]", str(exc), raw_id=True)
        return
    for name in names:
        yield GuardSpec(f"drift[{name}]", _live_check(dsn, directory, table, name))
    yield GuardSpec("drift[history]", _live_check(dsn, directory, table, None))


def _live_report(dsn: str, directory: Path, table: str) -> DriftReport:
    """The drift report for the live database, computed once per process (errors too)."""
    from pytest_tzurot.drift.check import check, read_only, read_state

    key = (dsn, str(directory), table)
    if key not in _LIVE:
        try:
            migrations = discover(directory)
            with read_only(dsn) as conn:
                state = read_state(conn, table)
            _LIVE[key] = check(state, migrations, table)
        except TzurotError as exc:
            _LIVE[key] = exc
    result = _LIVE[key]
    if isinstance(result, TzurotError):
        raise fail(f"drift check against --tzurot-drift-dsn: {result}")
    return result  # type: ignore[return-value]


def _live_check(dsn: str, directory: Path, table: str, name: str | None) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        report = _live_report(dsn, directory, table)
        if name is None:  # rows applied under names no longer on disk
            gone = [e for e in report.entries if e.status in ("missing", "renamed")]
            if gone:
                raise fail("; ".join(f"{e.name}: {e.detail}" for e in gone))
            return
        entry = next((e for e in report.entries if e.name == name), None)
        if entry is None or entry.status == "ok":
            return
        if entry.status in ("pending", "failed"):
            ctx.summary(LIVE_SECTION, f"{name}: {entry.status} on the drift database ({entry.detail})")
            return
        raise fail(f"{name}: applied with checksum {entry.recorded}, file now {entry.current}: "
                   f"{entry.detail}")

    return run


# -- helpers -------------------------------------------------------------------
def _note(line: str) -> Callable[[GuardContext], None]:
    def run(ctx: GuardContext) -> None:
        ctx.summary(EDIT_SECTION, line)

    return run


def _skipped(label: str, reason: str) -> GuardSpec:
    def run(ctx: GuardContext) -> None:
        pytest.skip(reason)

    return GuardSpec(f"migration_edit[{label}]", run)


def _failing(label: str, message: str, raw_id: bool = False) -> GuardSpec:
    def run(ctx: GuardContext) -> None:
        raise fail(message)

    return GuardSpec(label if raw_id else f"migration_edit[{label}]", run)
