"""The live layer over the shared case table (tests/cases/protected_index_cases.py).

Each case's `sql` is a migration applied after the example schema in `migrations/`:
a clone of the run's migrated template (the example schema, history rows included)
gets a copy of `migrations/` plus the case as one new migration, deployed with the
runner. The live verdict is then
- "error": the runner refuses or fails to apply the case's migration;
- "fail": the protected_index guard fails, and replaying the migrations one by one
  names the case's migration as the one that lost or changed the index;
- "pass": the protected index is as the repository's ci.yml declares it.
Where the lint flags non-idempotent DDL (TZ010) in a case that applies, its live
counterpart must agree: the `idempotent[...]` re-run of the case's migration fails.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pytest_tzurot import catalog
from pytest_tzurot import config as config_mod
from pytest_tzurot.errors import TzurotError
from pytest_tzurot.guards.indexes import compare, find_loss, rerun
from pytest_tzurot.migrations import deploy, discover

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CASES_FILE = REPO / "tests" / "cases" / "protected_index_cases.py"
CASE_MIGRATION = "20991231000000_case"
MANIFEST = config_mod.load(REPO / "ci.yml")


def _field(case: Any, name: str) -> Any:
    return case[name] if isinstance(case, dict) else getattr(case, name)


def _load_cases() -> list[Any]:
    if not CASES_FILE.exists():
        return []
    spec = importlib.util.spec_from_file_location("protected_index_cases", CASES_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CASES)


CASES = _load_cases()


def _migrations_with(tmp_path: Path, sql: str) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MANIFEST.migrations.dir, directory)
    (directory / CASE_MIGRATION).mkdir()
    (directory / CASE_MIGRATION / "migration.sql").write_text(sql, encoding="utf-8")
    return directory


def live_verdict(dsn: str, directory: Path) -> tuple[str, str]:
    """("pass" | "fail" | "error", detail) for the migrations in `directory` applied on `dsn`."""
    try:
        deploy(dsn, directory, history_table=MANIFEST.migrations.history_table)
    except TzurotError as exc:
        return "error", str(exc)
    with psycopg.connect(dsn, autocommit=True) as conn:
        snap = catalog.read(conn, [index.name for index in MANIFEST.protected_indexes])
    verdicts = [compare(index, snap) for index in MANIFEST.protected_indexes]
    failed = [v for v in verdicts if not v.ok]
    if failed:
        return "fail", "; ".join(f"{v.index.name}: {v.describe()}" for v in failed)
    return "pass", "all protected indexes as declared"


def test_the_case_table_is_there_and_big_enough() -> None:
    assert CASES_FILE.exists(), f"{CASES_FILE} is missing"
    assert len(CASES) >= 25
    assert {_field(case, "live") for case in CASES} <= {"pass", "fail", "error"}
    assert len({_field(case, "id") for case in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[str(_field(case, "id")) for case in CASES])
def test_live_verdict(case: Any, tzurot_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    directory = _migrations_with(tmp_path, _field(case, "sql"))
    verdict, detail = live_verdict(tzurot_db, directory)
    assert verdict == _field(case, "live"), f"live verdict {verdict!r} ({detail})"
    if verdict == "error":
        return
    if "TZ010" in _field(case, "rules"):
        again = rerun(tzurot_db, discover(directory)[-1])
        assert again.failed is not None, "TZ010 flags it, yet re-applying it succeeds"
    if verdict != "fail":
        return
    # The guard's failure path: replaying one by one names the case's migration.
    for index in MANIFEST.protected_indexes:
        if compare(index, _snapshot(tzurot_db, index.name)).ok:
            continue
        empty = request.getfixturevalue("tzurot_empty_db")  # only failing cases need the replay
        loss = find_loss(empty, directory, MANIFEST.migrations.history_table, index)
        assert loss.error is None, loss.error
        assert loss.culprit is not None and loss.culprit.migration.name == CASE_MIGRATION, loss.describe()
        assert loss.before is not None and loss.before.migration.name < CASE_MIGRATION


def _snapshot(dsn: str, name: str) -> catalog.Snapshot:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return catalog.read(conn, [name])
