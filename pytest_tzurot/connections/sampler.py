"""Watch `pg_stat_activity` for one database from a server-side loop.

The loop runs as one `DO` block on the sampler's own connection, driven by a
background thread: sampling happens inside the server, so it neither waits
for the test's Python code to release the GIL nor pays a round trip per
sample. It reports
through notices only when something changes: a new peak, backends seen for
the first time, a heartbeat with its sample count and longest gap, and a
change of the control connection's `application_name` (how `mark()` and
`stop()` talk to it, so every result up to that moment has been received).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_tzurot.connect import connect
from pytest_tzurot.errors import ServerError

NOTICE_PREFIX = "tzurot-sampler:"
# pg_sleep between samples. Measured on a busy 2-core machine (benchmarks/bench_pools.py),
# a loop that sleeps 1 ms (~4 ms per sample in practice) caught more short bursts than one
# that spins (~0.2 ms per sample): the scheduler favours a sleeper when the test's own
# processes wake up, and a spinner takes a core from the test. 0 spins.
DEFAULT_PAUSE = 0.001
STOP_SIGNAL = "tzurot-watch:stop"
MARK_PREFIX = "tzurot-watch:mark:"

# Settings reach the loop through custom GUCs (set with bound parameters), so
# no value is ever formatted into the SQL text.
_LOOP = """
DO $tzurot$
DECLARE
  watched oid := (SELECT oid FROM pg_database WHERE datname = current_database());
  control int := current_setting('tzurot.control_pid')::int;
  pause float8 := current_setting('tzurot.pause')::float8;
  beat interval := make_interval(secs => current_setting('tzurot.beat')::float8);
  started timestamptz := clock_timestamp();
  ts timestamptz := started;
  last_ts timestamptz := started;
  next_beat timestamptz := started;
  max_gap interval := interval '0';
  iters bigint := 0;
  peak int := -1;
  n int;
  seen int[] := '{}';
  new_pids int[];
  fresh json;
  backends json;
  signal text;
  last_signal text := '';
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();  -- a fresh view of the backends on every sample
    ts := clock_timestamp();
    IF ts - last_ts > max_gap THEN max_gap := ts - last_ts; END IF;
    last_ts := ts;
    iters := iters + 1;
    SELECT count(*) FILTER (WHERE pid <> control),
           array_agg(pid) FILTER (WHERE pid <> control AND pid <> ALL (seen)),
           json_agg(json_build_array(pid, state, application_name, extract(epoch FROM backend_start)))
             FILTER (WHERE pid <> control AND pid <> ALL (seen)),
           max(application_name) FILTER (WHERE pid = control)
      INTO n, new_pids, fresh, signal
      FROM pg_stat_activity
     WHERE datid = watched AND backend_type = 'client backend' AND pid <> pg_backend_pid();
    IF new_pids IS NOT NULL THEN
      seen := seen || new_pids;
      RAISE NOTICE 'tzurot-sampler:%', json_build_object(
        'k', CASE WHEN iters = 1 THEN 'base' ELSE 'new' END,
        't', extract(epoch FROM ts - started), 'b', fresh);
    END IF;
    IF n > peak THEN
      peak := n;
      SELECT json_agg(json_build_array(pid, state, application_name, extract(epoch FROM backend_start)))
        INTO backends
        FROM pg_stat_activity
       WHERE datid = watched AND backend_type = 'client backend' AND pid <> pg_backend_pid()
         AND pid <> control;
      RAISE NOTICE 'tzurot-sampler:%', json_build_object(
        'k', 'peak', 't', extract(epoch FROM ts - started), 'n', n, 'b', backends);
    END IF;
    IF signal IS DISTINCT FROM last_signal THEN
      last_signal := signal;
      IF signal = 'tzurot-watch:stop' THEN
        RAISE NOTICE 'tzurot-sampler:%', json_build_object(
          'k', 'end', 'i', iters, 't', extract(epoch FROM ts - started),
          'g', extract(epoch FROM max_gap));
        EXIT;
      ELSIF starts_with(signal, 'tzurot-watch:mark:') THEN
        RAISE NOTICE 'tzurot-sampler:%', json_build_object('k', 'mark', 'm', signal);
      END IF;
    END IF;
    IF ts >= next_beat THEN
      next_beat := ts + beat;
      RAISE NOTICE 'tzurot-sampler:%', json_build_object(
        'k', 'beat', 'i', iters, 't', extract(epoch FROM ts - started),
        'g', extract(epoch FROM max_gap));
    END IF;
    IF pause > 0 THEN PERFORM pg_sleep(pause); END IF;
  END LOOP;
END
$tzurot$
"""


@dataclass(frozen=True)
class Backend:
    """One client backend as the sampler saw it."""

    pid: int
    state: str | None
    application_name: str
    backend_start: float
    seen_at: float = 0.0  # seconds after the sampler started

    @classmethod
    def from_row(cls, row: list[Any], seen_at: float = 0.0) -> Backend:
        return cls(int(row[0]), row[1], row[2] or "", float(row[3] or 0.0), seen_at)

    def describe(self) -> str:
        return f"pid {self.pid} {self.state or 'starting'} (application_name {self.application_name!r})"


@dataclass(frozen=True)
class SamplerStats:
    """How often the loop looked: `samples` in `elapsed` seconds, and the longest gap."""

    samples: int
    elapsed: float
    max_gap: float

    @property
    def mean_interval(self) -> float:
        return self.elapsed / self.samples if self.samples else 0.0

    def describe(self) -> str:
        return (
            f"{self.samples} samples, every {self.mean_interval * 1e3:.3f} ms on average "
            f"(longest gap {self.max_gap * 1e3:.2f} ms)"
        )


@dataclass
class _State:
    baseline: dict[int, Backend] = field(default_factory=dict)
    seen: dict[int, Backend] = field(default_factory=dict)  # first seen during the watch
    peak: int = 0
    peak_at: float = 0.0
    peak_backends: tuple[Backend, ...] = ()
    stats: SamplerStats = SamplerStats(0, 0.0, 0.0)
    marks: set[str] = field(default_factory=set)
    ended: bool = False


class ActivitySampler:
    """Samples the client backends of the database behind `dsn`, excluding its own two connections.

    `start()` returns once the first sample (the baseline) is in; `stop()`
    returns once the last one is. Raises ServerError when it cannot connect.
    """

    def __init__(self, dsn: str, *, pause: float = DEFAULT_PAUSE, beat: float = 0.02,
                 application_name: str = "tzurot-sampler") -> None:
        self.dsn = dsn
        self.pause = pause
        self.beat = beat
        self.application_name = application_name
        self._state = _State()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._control: Any = None
        self._mark_counter = 0
        self._pid = 0
        self._cancelled = False
        self.error: BaseException | None = None
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    # -- lifecycle -------------------------------------------------------------
    def start(self, control: Any, timeout: float = 10.0) -> None:
        """Start the loop; `control` is an open autocommit connection to the same database."""
        self._control = control
        control_pid = control.info.backend_pid
        self._conn = connect(self.dsn, autocommit=True, application_name=self.application_name)
        self._pid = int(self._conn.info.backend_pid)
        self._conn.add_notice_handler(self._on_notice)
        for name, value in (("statement_timeout", "0"), ("tzurot.control_pid", str(control_pid)),
                            ("tzurot.pause", str(self.pause)), ("tzurot.beat", str(self.beat))):
            self._conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        self._thread = threading.Thread(target=self._run, name="tzurot-sampler", daemon=True)
        self._thread.start()
        with self._cond:
            started = self._cond.wait_for(lambda: self._state.stats.samples > 0 or self._failed(), timeout)
        if not started or self.error is not None:
            reason = f"no sample within {timeout:.0f} s" if self.error is None else _first_line(self.error)
            self._abort()
            raise ServerError(f"the connection sampler could not start on {self.database_label()}: {reason}")

    def database_label(self) -> str:
        from pytest_tzurot.dsn import database_of

        return f"database {database_of(self.dsn)}"

    def _abort(self) -> None:
        """Stop a loop that must not go on (cancel it) and close its connection."""
        self._cancelled = True
        try:
            if self._thread is not None and self._thread.is_alive():
                self._conn.cancel_safe(timeout=5.0)
                self._thread.join(5.0)
        finally:
            self._conn.close()
            self._thread = None

    @property
    def pid(self) -> int:
        """The sampler's own backend pid (excluded from every figure)."""
        return self._pid

    def _failed(self) -> bool:
        return self.error is not None or self._state.ended

    def _run(self) -> None:
        try:
            self._conn.execute(_LOOP)
        except BaseException as exc:  # reported by start()/stop(); the thread must not die silently
            if not self._cancelled:
                self.error = exc
        finally:
            with self._cond:
                self._state.ended = True
                self._cond.notify_all()

    def mark(self, timeout: float = 5.0) -> None:
        """Return once the loop has taken a sample after this call (so nothing earlier is in flight)."""
        self._mark_counter += 1
        token = f"{MARK_PREFIX}{self._mark_counter}"
        self._control.execute("SELECT set_config('application_name', %s, false)", (token,))
        with self._cond:
            self._cond.wait_for(lambda: token in self._state.marks or self._failed(), timeout)

    def stop(self, timeout: float = 5.0) -> SamplerStats:
        """Stop the loop after one last sample; close the sampler's connection."""
        if self._thread is None:
            return self._state.stats
        try:
            self._control.execute("SELECT set_config('application_name', %s, false)", (STOP_SIGNAL,))
            self._thread.join(timeout)
        finally:
            self._abort()  # only cancels when the loop did not see the signal
        if self.error is not None:
            raise ServerError(
                f"the connection sampler on {self.database_label()} stopped early, so its figures are "
                f"incomplete: {_first_line(self.error)}"
            )
        return self._state.stats

    # -- results ---------------------------------------------------------------
    def _on_notice(self, diag: Any) -> None:
        text = diag.message_primary or ""
        if not text.startswith(NOTICE_PREFIX):
            return
        event = json.loads(text[len(NOTICE_PREFIX):])
        kind = event["k"]
        with self._cond:
            st = self._state
            if kind in ("base", "new"):
                for row in event["b"]:
                    backend = Backend.from_row(row, float(event["t"]))
                    (st.baseline if kind == "base" else st.seen)[backend.pid] = backend
            elif kind == "peak":
                st.peak, st.peak_at = int(event["n"]), float(event["t"])
                st.peak_backends = tuple(Backend.from_row(row) for row in event["b"] or ())
            elif kind in ("beat", "end"):
                st.stats = SamplerStats(int(event["i"]), float(event["t"]), float(event["g"]))
            elif kind == "mark":
                st.marks.add(event["m"])
            self._cond.notify_all()
        for listener in self.listeners:
            listener(kind, event)

    @property
    def peak(self) -> int:
        """The most client backends seen at once (baseline included)."""
        return self._state.peak

    @property
    def peak_at(self) -> float:
        return self._state.peak_at

    @property
    def peak_backends(self) -> tuple[Backend, ...]:
        return self._state.peak_backends

    @property
    def baseline(self) -> dict[int, Backend]:
        return dict(self._state.baseline)

    @property
    def seen(self) -> dict[int, Backend]:
        """Backends first seen after the baseline, by pid."""
        with self._cond:
            return dict(self._state.seen)

    @property
    def stats(self) -> SamplerStats:
        return self._state.stats


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    """Poll `predicate` until it holds or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
