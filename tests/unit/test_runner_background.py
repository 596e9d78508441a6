"""Background fingerprints: a forked child in a single-threaded process, a worker thread otherwise;
either way every fingerprint asked for comes back, equal to computing it in the caller.

Each case runs in a fresh interpreter, so whether the process is single-threaded is decided by
the case, not by the test runner (pytest-xdist workers have threads of their own)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SETUP = """
import os, sys, threading
from pathlib import Path
from pytest_tzurot.migrations import discover, fingerprints
from pytest_tzurot.migrations import background

root = Path(sys.argv[1])
for n, body in enumerate([
    "CREATE TABLE a (id int);",
    "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
    "SELECT 'unterminated",  # cannot be fingerprinted: None
    "ALTER TABLE a ADD COLUMN b text DEFAULT 'x;y';",
] * 3):  # enough migrations for background work (`_BACKGROUND_FROM`)
    (root / f"{n:04d}_m{n}.sql").write_text(f"-- {n}\\n{body}")
migrations = discover(root, validate=False)
assert len(migrations) >= background._BACKGROUND_FROM
names = [m.name for m in migrations]
expected = {m.name: fingerprints.compute(m.sql) for m in migrations}
"""


def run(tmp_path: Path, body: str) -> str:
    script = SETUP + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="the forked child is used on Linux only")
def test_single_threaded_process_forks_a_child_whose_answers_match(tmp_path: Path):
    out = run(tmp_path, """
        with background.fingerprinter(migrations) as prints:
            kind = type(prints).__name__
            got = prints.results(names)
        assert got == expected, (got, expected)
        assert [expected[n] is None for n in names[:4]] == [False, False, True, False]
        print(kind)
    """)
    assert out == "_ForkedChild"


@pytest.mark.skipif(sys.platform != "linux", reason="the forked child is used on Linux only")
def test_a_child_that_dies_costs_time_not_fingerprints(tmp_path: Path):
    out = run(tmp_path, """
        background._compute = lambda ms: os._exit(3)  # the child dies before answering
        real = background._fingerprint
        with background.fingerprinter(migrations) as prints:
            background._compute = lambda ms: {m.name: real(m) for m in ms}
            got = prints.results(names[:2])
        assert got == {n: expected[n] for n in names[:2]}, got
        print("ok")
    """)
    assert out == "ok"


@pytest.mark.skipif(sys.platform != "linux", reason="the forked child is used on Linux only")
def test_a_fork_that_fails_leaves_the_work_to_the_caller(tmp_path: Path):
    out = run(tmp_path, """
        def refuse():
            raise BlockingIOError(11, "Resource temporarily unavailable")
        os.fork = refuse
        before = sorted(os.listdir("/proc/self/fd"))
        with background.fingerprinter(migrations) as prints:
            got = prints.results(names)
        assert got == expected, got
        print(type(prints).__name__, sorted(os.listdir("/proc/self/fd")) == before)
    """)
    assert out == "_ForkedChild True"  # tried to fork, computed in the caller, closed the pipe


@pytest.mark.skipif(sys.platform != "linux", reason="the forked child is used on Linux only")
def test_a_child_not_asked_is_killed_and_reaped(tmp_path: Path):
    out = run(tmp_path, """
        import time
        background._compute = lambda ms: time.sleep(60)  # still busy when the deploy ends
        started = time.monotonic()
        with background.fingerprinter(migrations) as prints:
            pid = prints._pid
        assert time.monotonic() - started < 10
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("reaped")
    """)
    assert out == "reaped"


def test_a_process_with_other_threads_uses_a_worker_thread(tmp_path: Path):
    out = run(tmp_path, """
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            assert not background._fork_is_safe()
            interval = sys.getswitchinterval()
            with background.fingerprinter(migrations) as prints:
                kind = type(prints).__name__
                lowered = sys.getswitchinterval() < interval
                with prints.server_busy():
                    pass
                got = prints.results(names)
            assert got == expected, (got, expected)
            assert sys.getswitchinterval() == interval  # restored
        finally:
            stop.set()
            other.join()
        print(kind, lowered)
    """)
    assert out == "_WorkerThread True"


def test_a_few_migrations_are_fingerprinted_in_the_caller(tmp_path: Path):
    out = run(tmp_path, """
        few = migrations[:3]
        with background.fingerprinter(few) as prints:
            got = prints.results([m.name for m in few])
        assert got == {m.name: expected[m.name] for m in few}, got
        with background.fingerprinter([]) as prints:
            assert prints.results([]) == {}
        print(type(prints).__name__, threading.active_count())
    """)
    assert out == "_InCaller 1"
