"""`tzurot migrate` without a database: usage, DSN and input errors are one line and exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pytest_tzurot.cli import main

DOWN = "postgresql://app:s3cret@/app?host=/nonexistent-socket-dir&port=5999"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ci.yml here: defaults apply
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "migrations" / "001_a").mkdir(parents=True)
    (tmp_path / "migrations" / "001_a" / "migration.sql").write_text("CREATE TABLE a (id int);\n")
    return tmp_path / "migrations"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["deploy"], None, "no database: pass --dsn"),
        (["deploy", "--dsn", "host=x port"], None, "malformed DSN"),
        (["status", "--dsn", "postgresql://app:s3cret@[::1/db"], None, "malformed DSN"),
        (["deploy"], DOWN, "cannot connect to postgresql://app:***@"),
        (["status", "--dsn", DOWN], None, "cannot connect"),
        (["resolve", "--dsn", DOWN, "--rolled-back", "001_a"], None, "cannot connect"),
        (["deploy", "--dsn", DOWN, "--dir", "nowhere"], None, "nowhere: migrations directory not found"),
        (["deploy", "--dsn", DOWN, "--lock-timeout", "-1"], None, "--lock-timeout must be >= 0"),
    ],
)
def test_errors_are_one_line_exit_2_without_password(capsys, migrations: Path, monkeypatch, args, env,
                                                     expected):
    if env:
        monkeypatch.setenv("DATABASE_URL", env)
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("tzurot: error: ") and len(err.strip().splitlines()) == 1
    assert expected in err and "s3cret" not in err


def test_bad_migration_file_fails_before_connecting(capsys, migrations: Path):
    (migrations / "002_b").mkdir()
    (migrations / "002_b" / "migration.sql").write_bytes(b"SELECT '\xe9t\xe9';\n")
    code, _, err = run(capsys, "deploy", "--dsn", DOWN)
    assert code == 2 and "002_b/migration.sql:1: not UTF-8" in err


def test_create(capsys, migrations: Path):
    code, out, _ = run(capsys, "create", "Add Users")
    assert code == 0
    [created] = [p for p in migrations.iterdir() if p.name.endswith("_add_users")]
    assert out.strip() == f"created {Path('migrations') / created.name / 'migration.sql'}"
    assert len(created.name) == len("yyyymmddHHMMSS_add_users")
    code, _, err = run(capsys, "create", "!!!")
    assert code == 2 and "has no letters or digits" in err


def test_config_gives_directory_and_history_table(capsys, migrations: Path, tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "tz.yml").write_text("migrations:\n  dir: elsewhere\n  history_table: schema_history\n")
    code, _, err = run(capsys, "deploy", "--dsn", DOWN, "--config", str(tmp_path / "tz.yml"), "--dry-run")
    assert code == 2 and "cannot connect" in err  # an empty `elsewhere` is fine; the server is down
    (tmp_path / "bad.yml").write_text("migrations:\n  dirr: x\n")
    code, _, err = run(capsys, "status", "--dsn", DOWN, "--config", str(tmp_path / "bad.yml"))
    assert code == 2 and "dirr" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_unreadable_directory(tmp_path: Path):
    """Root reads everything, so the CLI runs as `nobody` against a directory with mode 000."""
    import pwd

    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no unprivileged user to switch to")
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="tzurot-unreadable-"))
    try:
        os.chmod(base, 0o755)
        locked = base / "migrations"
        (locked / "001_a").mkdir(parents=True)
        (locked / "001_a" / "migration.sql").write_text("SELECT 1;\n")
        os.chmod(locked, 0o000)
        # Import everything first: after dropping privileges, the interpreter's own files
        # (under /root) are out of reach too.
        script = (
            "import os, sys, psycopg, sqlglot\n"
            "import pytest_tzurot.cli.migrate, pytest_tzurot.migrations, pytest_tzurot.dsn\n"
            "from pytest_tzurot.cli import build_parser, main\n"
            "build_parser()\n"
            f"os.setgid({user.pw_gid}); os.setuid({user.pw_uid})\n"
            f"sys.exit(main(['migrate', 'deploy', '--dsn', {DOWN!r}, '--dir', {str(locked)!r}]))\n"
        )
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=base,
                              timeout=60)
    finally:
        os.chmod(base / "migrations", 0o755)
        shutil.rmtree(base, ignore_errors=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"tzurot: error: {locked}: cannot read the migrations directory: permission denied; "
        "fix its permissions"
    )
