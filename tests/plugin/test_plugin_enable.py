"""Enabling the plugin: explicit `-p`, registered once, and nothing starts until a database is needed."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NO_DATABASE = """
import glob, os, tempfile

def test_plain_arithmetic():
    assert 1 + 1 == 2

def test_no_server_and_no_state_while_running(pytestconfig):
    tmp = os.environ["TZUROT_TMPDIR"]
    assert glob.glob(os.path.join(tmp, "tzurot-pg-*")) == []
    assert glob.glob(os.path.join(tmp, "tzurot-run-*", "state.json")) == []
    registered = [p for p in pytestconfig.pluginmanager.get_plugins()
                  if getattr(p, "__name__", "") == "pytest_tzurot"]
    assert len(registered) == 1
"""


def test_enabling_starts_nothing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    # where a server or the run's state would appear
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TZUROT_TMPDIR", str(tmp))
    pytester.makepyfile(test_plain=NO_DATABASE)
    result = pytester.runpytest("-p", "pytest_tzurot", "-p", "pytest_tzurot", "test_plain.py")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "tzurot: backend embedded, PostgreSQL 18" in out  # the header needs no server
    assert "tzurot server" not in out
    assert "= tzurot =" not in out  # no summary section when no server ran
    assert list(tmp.iterdir()) == [], "the run leaves no state behind"


def test_without_p_the_plugin_is_not_loaded(pytester: pytest.Pytester) -> None:
    """No pytest11 entry point: projects opt in with `-p pytest_tzurot` (or addopts)."""
    result = pytester.runpytest("--help")
    assert "--tzurot-backend" not in result.stdout.str()
    result = pytester.runpytest("-p", "pytest_tzurot", "--help")
    assert result.stdout.str().count("--tzurot-backend=") == 1


def test_no_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    assert not [ep for ep in entry_points(group="pytest11") if ep.value.startswith("pytest_tzurot")]


def test_importing_the_package_does_not_import_pytest() -> None:
    code = (
        "import sys, pytest_tzurot, pytest_tzurot.cli;"
        "assert 'pytest' not in sys.modules and '_pytest' not in sys.modules, 'pytest imported';"
        "assert 'pytest_tzurot.plugin' not in sys.modules;"
        "assert not hasattr(pytest_tzurot, 'tzurot_db')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def test_collect_only_starts_nothing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TZUROT_TMPDIR", str(tmp))
    pytester.makepyfile(test_db="def test_db(tzurot_db):\n    pass\n")
    result = pytester.runpytest("-p", "pytest_tzurot", "--collect-only", "test_db.py")
    assert result.ret == pytest.ExitCode.OK
    assert "tzurot server" not in result.stdout.str()
    assert list(tmp.iterdir()) == []
