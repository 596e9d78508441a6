"""Semantic fingerprints computed while a deploy applies migrations.

A fingerprint is pure-Python CPU work (sqlglot's tokenizer, about half a
millisecond for a small migration), and a deploy spends most of its time
waiting for the server. `fingerprinter()` overlaps the two:

- in a single-threaded process on Linux (the `tzurot` command, a service
  migrating at start-up), a forked child computes them on another core and
  sends them back through a pipe: the parent never waits for the GIL;
- elsewhere (a process with other threads, where fork is unsafe; macOS;
  Windows) a worker thread computes them only while the main thread waits on
  the server (`server_busy()`), with the interpreter's switch interval
  lowered so the main thread gets the GIL back promptly;
- for fewer than 8 migrations (a typical production deploy), the caller
  computes them at the end: cheaper than starting either.

Either way `results()` returns every fingerprint asked for, computing in
the caller whatever the background could not deliver: a lost child or
thread costs time, never a fingerprint.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import NoReturn, Protocol

from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations import fingerprints
from pytest_tzurot.migrations.discovery import Migration

_SWITCH_INTERVAL = 0.0001  # seconds: how long the main thread may wait for the GIL
_switching_lock = threading.Lock()
_switching_users = 0
_switching_saved = 0.0


class Fingerprinter(Protocol):
    """Computes the fingerprints of a deploy's migrations in the background."""

    def __enter__(self) -> Fingerprinter: ...

    def __exit__(self, *exc: object) -> None: ...

    def server_busy(self) -> AbstractContextManager[object]:
        """Wraps a call that waits on the server."""
        ...

    def results(self, names: Sequence[str]) -> dict[str, str | None]:
        """The fingerprints of `names` (None where the SQL cannot be fingerprinted)."""
        ...


# Below this many, computing in the caller costs less than starting a child (~3 ms) or a thread.
_BACKGROUND_FROM = 8


def fingerprinter(migrations: Sequence[Migration]) -> Fingerprinter:
    """A forked child when this process can fork safely, else a worker thread; for a handful of
    migrations, the caller itself at the end."""
    if len(migrations) < _BACKGROUND_FROM:
        return _InCaller(migrations)
    if _fork_is_safe():
        return _ForkedChild(migrations)
    return _WorkerThread(migrations)


def _fork_is_safe() -> bool:
    """Linux, and this process has exactly one thread (forking a process with other threads can
    deadlock the child on a lock one of them held)."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return line.split()[1] == "1"
    except OSError:
        pass
    return False


def _compute(migrations: Sequence[Migration]) -> dict[str, str | None]:
    return {m.name: _fingerprint(m) for m in migrations}


def _fingerprint(migration: Migration) -> str | None:
    """The migration's fingerprint, None when it cannot be read as statements (never raises)."""
    try:
        statements = migration.statements
    except MigrationError:
        return None
    return fingerprints.compute(migration.sql, statements)


class _InCaller:
    """No background work: `results()` computes in the caller."""

    def __init__(self, migrations: Sequence[Migration]) -> None:
        self._by_name = {m.name: m for m in migrations}

    def __enter__(self) -> _InCaller:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def server_busy(self) -> AbstractContextManager[object]:
        return nullcontext()

    def results(self, names: Sequence[str]) -> dict[str, str | None]:
        return _compute([self._by_name[name] for name in names])


class _ForkedChild(_InCaller):
    """A forked child computes every fingerprint and writes them to a pipe as one JSON object.

    The child touches nothing it shares with the parent (the database connection's socket
    included): it computes, writes, and leaves with `os._exit`, so no finalizer, atexit hook
    or buffered output of the parent runs twice. The parent reaps it in `__exit__`, killing it
    first if the deploy ended before reading its answer.
    """

    def __init__(self, migrations: Sequence[Migration]) -> None:
        super().__init__(migrations)
        self._migrations = list(migrations)
        self._pid = 0
        self._read_fd = -1
        self._received: dict[str, str | None] | None = None

    def __enter__(self) -> _ForkedChild:
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare (a limit, a sandbox): the caller computes them
            os.close(read_fd)
            os.close(write_fd)
            self._received = {}
            return self
        if pid == 0:  # the child
            _run_child(self._migrations, read_fd, write_fd)
        os.close(write_fd)
        self._pid, self._read_fd = pid, read_fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1
        if self._pid:
            if self._received is None:
                with suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def results(self, names: Sequence[str]) -> dict[str, str | None]:
        if self._received is None:
            self._received = self._receive()
        found = {name: self._received[name] for name in names if name in self._received}
        missing = [name for name in names if name not in found]
        return {**found, **super().results(missing)} if missing else found

    def _receive(self) -> dict[str, str | None]:
        """The child's answer, or `{}` if it died without one."""
        chunks: list[bytes] = []
        while chunk := os.read(self._read_fd, 1 << 16):
            chunks.append(chunk)
        try:
            received = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            return {}
        return received if isinstance(received, dict) else {}


def _run_child(migrations: Sequence[Migration], read_fd: int, write_fd: int) -> NoReturn:
    """The forked child's whole life: never returns, never raises."""
    code = 1
    try:
        # The collector would walk (and so copy) every page of the parent's heap, and could run
        # finalizers of the parent's objects, such as a connection's, from here.
        gc.disable()
        # Hold none of the parent's files: were the parent killed, its database connection must
        # close at once (the server then rolls back and frees the lock), not when the child ends.
        for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
            if fd > 2 and fd != write_fd:
                with suppress(OSError):
                    os.close(fd)
        with suppress(OSError):
            os.nice(10)  # when cores are scarce, the deploy itself (parent and server) goes first
        data = json.dumps(_compute(migrations)).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view):]
        code = 0
    except BaseException:
        pass
    finally:
        os._exit(code)


class _WorkerThread(_InCaller):
    """A worker thread computes the fingerprints in order, running only while the main thread
    waits on the server (`server_busy()`) or for the results; outside those waits it pauses
    instead of competing with the main thread for the GIL."""

    def __init__(self, migrations: Sequence[Migration]) -> None:
        super().__init__(migrations)
        self._migrations = list(migrations)
        self._computed: dict[str, str | None] = {}
        self._done = threading.Event()
        self._go = threading.Event()  # set while the main thread waits
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="tzurot-fingerprint", daemon=True)
        self._switching = prompt_switching()

    def __enter__(self) -> _WorkerThread:
        self._switching.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        self._go.set()
        self._thread.join()
        self._switching.__exit__(None, None, None)

    def _run(self) -> None:
        try:
            for migration in self._migrations:
                self._go.wait()
                if self._stopping:
                    return
                self._computed[migration.name] = _fingerprint(migration)
        finally:
            self._done.set()

    @contextmanager
    def _busy(self) -> Iterator[None]:
        self._go.set()
        try:
            yield
        finally:
            self._go.clear()

    def server_busy(self) -> AbstractContextManager[object]:
        return self._busy()

    def results(self, names: Sequence[str]) -> dict[str, str | None]:
        if not set(names) <= self._computed.keys():
            with self._busy():
                self._done.wait()
        found = {name: self._computed[name] for name in names if name in self._computed}
        missing = [name for name in names if name not in found]  # only if the worker died
        return {**found, **super().results(missing)} if missing else found


@contextmanager
def prompt_switching() -> Iterator[None]:
    """Lower the interpreter's switch interval (process-wide) while at least one worker runs,
    and restore it after the last one: concurrent deploys in one process nest correctly."""
    global _switching_users, _switching_saved
    with _switching_lock:
        if _switching_users == 0:
            _switching_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switching_saved, _SWITCH_INTERVAL))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching_lock:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_switching_saved)
