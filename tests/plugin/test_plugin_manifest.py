"""A bad guard manifest stops the run with one line naming the file and the key, never a traceback."""

from __future__ import annotations

import pytest

USES_DB = "def test_uses_db(tzurot_db):\n    assert tzurot_db\n"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ("migrations:\n  dir: migrations\n  histroy_table: x\n",
         "ci.yml: migrations.histroy_table: unknown key (known keys: dir, history_table, idempotent, "
         "lock_timeout)"),
        ("migrations:\n  dir: migrations\npool:\n  max_connections: lots\n",
         "ci.yml: pool.max_connections: expected an integer, got 'lots'"),
        ("migrations:\n  dir: db/missing\n", "ci.yml: migrations.dir: directory not found: db/missing"),
        ("migrations:\n  dir: [migrations\n", "ci.yml:2:19: invalid YAML: expected ',' or ']'"),
    ],
    ids=["unknown-key", "wrong-type", "missing-migrations-dir", "invalid-yaml"],
)
def test_bad_manifest_is_one_clear_line(pytester: pytest.Pytester, manifest: str, expected: str) -> None:
    (pytester.path / "migrations").mkdir()
    pytester.makefile(".yml", ci=manifest)
    pytester.makepyfile(test_db=USES_DB)
    result = pytester.runpytest("-p", "pytest_tzurot", "test_db.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"ERROR: {expected}" in err, err
    assert "Traceback" not in err + result.stdout.str()


def test_explicit_manifest_that_does_not_exist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_db=USES_DB)
    result = pytester.runpytest("-p", "pytest_tzurot", "--tzurot-config", "guards/ci.yml", "test_db.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "guards/ci.yml: manifest not found (set --tzurot-config or ini tzurot_config)" in err
    assert "Traceback" not in err


def test_manifest_from_ini(pytester: pytest.Pytester) -> None:
    (pytester.path / "db").mkdir()
    pytester.makefile(".yml", guards="migrations:\n  dir: db\n  history_table: 3\n")
    pytester.makeini("[pytest]\ntzurot_config = guards.yml\n")
    pytester.makepyfile(test_db=USES_DB)
    result = pytester.runpytest("-p", "pytest_tzurot", "test_db.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "guards.yml: migrations.history_table: expected a non-empty string, got 3" in result.stderr.str()


def test_bad_backend_and_strategy_settings(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntzurot_backend = podman\n")
    result = pytester.runpytest("-p", "pytest_tzurot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "tzurot_backend = 'podman': expected one of embedded, docker, external" in result.stderr.str()
    pytester.makeini("[pytest]\ntzurot_clone_strategy = snapshot\n")
    result = pytester.runpytest("-p", "pytest_tzurot")
    assert "tzurot_clone_strategy = 'snapshot': expected one of file_copy, wal_log" in result.stderr.str()
