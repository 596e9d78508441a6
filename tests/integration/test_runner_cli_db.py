"""`tzurot migrate` against the real server: output, exit codes, and bad input applying nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.cli import main

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(root: Path, name: str, body: bytes) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / "migration.sql").write_bytes(body)


def relations(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT relname FROM pg_class c JOIN pg_namespace n"
                                           " ON n.oid = c.relnamespace WHERE nspname = 'public'")]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write(tmp_path / "migrations", "20250101000000_a", b"CREATE TABLE a (id int);\n")
    write(tmp_path / "migrations", "20250102000000_b",
          b"CREATE TABLE b (id int);\nCREATE TABLE c (id int);\n")
    return tmp_path / "migrations"


def test_status_deploy_dry_run_and_json(capsys, tzurot_empty_db: str, root: Path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tzurot_empty_db)  # DATABASE_URL when --dsn is absent
    code, out, _ = run(capsys, "status")
    assert code == 1
    assert re.search(r"^20250101000000_a\s+pending\s+-$", out, re.M) and "2 migration(s): 2 pending" in out

    code, out, _ = run(capsys, "deploy", "--dry-run")
    assert code == 0 and out.splitlines() == [
        "would apply 20250101000000_a (1 statement(s), in one transaction)",
        "would apply 20250102000000_b (2 statement(s), in one transaction)",
    ]
    assert relations(tzurot_empty_db) == []

    code, out, _ = run(capsys, "deploy", "--target", "20250101000000_a")
    assert code == 0
    assert re.match(r"applied 20250101000000_a \(\d+ ms, 1 statement\(s\)\)$", out.splitlines()[0])
    code, out, _ = run(capsys, "status", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert [(m["name"], m["state"]) for m in data["migrations"]] == [
        ("20250101000000_a", "applied"), ("20250102000000_b", "pending")]
    assert data["migrations"][0]["finished_at"] and data["migrations"][0]["checksum"]

    code, out, _ = run(capsys, "deploy")
    assert code == 0 and "1 migration(s) applied; 1 were already applied" in out
    code, out, _ = run(capsys, "deploy")
    assert code == 0 and "nothing to apply; 2 migration(s) already applied" in out
    code, out, _ = run(capsys, "status", "--dsn", tzurot_empty_db)
    assert code == 0 and "all applied" in out


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (lambda r: write(r, "20250103000000_c", b"CREATE TABLE d (x text DEFAULT '\xff');\n"), "not UTF-8"),
        (lambda r: write(r, "20250103000000_c", b"-- nothing yet\n"), "empty migration"),
        (lambda r: (r / "20250103000000_c").mkdir(), "has no migration.sql"),
        (lambda r: write(r, "20250103000000_c", b"CREATE TABLE d (x text DEFAULT $$x);\n"),
         "unterminated dollar-quoted body"),
    ],
)
def test_bad_input_applies_nothing(capsys, tzurot_empty_db: str, root: Path, bad, expected):
    bad(root)
    code, out, err = run(capsys, "deploy", "--dsn", tzurot_empty_db)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and expected in err
    assert relations(tzurot_empty_db) == []  # not the good migrations before it, not the history table
