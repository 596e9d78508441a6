"""States from files and history rows, without a database."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pytest_tzurot.migrations.checksums import checksum
from pytest_tzurot.migrations.discovery import Migration
from pytest_tzurot.migrations.history import HistoryRow
from pytest_tzurot.migrations.status import compare

T = datetime(2025, 1, 1, tzinfo=timezone.utc)


def migration(name: str, body: bytes = b"SELECT 1;\n") -> Migration:
    return Migration(name=name, path=Path(name) / "migration.sql", content=body)


def row(name: str, body: bytes = b"SELECT 1;\n", *, finished: bool = True, rolled_back: bool = False,
        logs: str | None = None) -> HistoryRow:
    return HistoryRow(id=name + ("-rb" if rolled_back else ""), checksum=checksum(body),
                      finished_at=T if finished else None, migration_name=name, logs=logs,
                      rolled_back_at=T if rolled_back else None, started_at=T, applied_steps_count=1)


def test_every_state():
    files = [migration("1_applied"), migration("2_drifted", b"SELECT 2;\n"), migration("3_failed"),
             migration("4_rolled_back"), migration("5_pending"), migration("7_crlf", b"SELECT 1;\r\n")]
    rows = [row("1_applied"), row("2_drifted"), row("3_failed", finished=False, logs="boom"),
            row("4_rolled_back", finished=False, rolled_back=True), row("6_missing"), row("7_crlf"),
            row("8_forgotten", finished=False, rolled_back=True)]
    states = {s.name: s.state for s in compare(files, rows)}
    assert states == {"1_applied": "applied", "2_drifted": "drifted", "3_failed": "failed",
                      "4_rolled_back": "rolled_back", "5_pending": "pending", "6_missing": "missing",
                      "7_crlf": "applied"}  # a rolled-back migration deleted from disk is forgotten
    failed = next(s for s in compare(files, rows) if s.name == "3_failed")
    assert failed.logs == "boom" and not failed.ok and failed.to_json()["state"] == "failed"


def test_reapplied_after_rollback_is_applied_and_a_failed_row_wins():
    files = [migration("1_a")]
    assert compare(files, [row("1_a", finished=False, rolled_back=True), row("1_a")])[0].state == "applied"
    assert compare(files, [row("1_a"), row("1_a", finished=False)])[0].state == "failed"


def test_history_row_flags():
    assert row("a").is_applied and not row("a").is_failed
    assert row("a", finished=False).is_failed and not row("a", finished=False).is_applied
    rolled = row("a", finished=False, rolled_back=True)
    assert not rolled.is_applied and not rolled.is_failed and rolled.is_rolled_back
