"""Drive a pool with more clients than connections, and measure how long requests waited."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadReport:
    """The outcome of `drive()`: requests served, errors, and each request's wait for a connection."""

    clients: int
    requests: int = 0
    waits: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def waited(self, threshold: float = 0.001) -> int:
        """Requests that waited longer than `threshold` seconds for a connection."""
        return sum(1 for wait in self.waits if wait > threshold)

    def percentile(self, q: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def describe(self) -> str:
        return (
            f"{self.clients} clients, {self.requests} requests in {self.elapsed:.2f} s; "
            f"{self.waited()} waited for a connection (median {self.percentile(0.5) * 1e3:.1f} ms, "
            f"p95 {self.percentile(0.95) * 1e3:.1f} ms, max {self.percentile(1.0) * 1e3:.1f} ms)"
        )


def drive(pool: Any, clients: int, requests_per_client: int = 6, hold: float = 0.005,
          timeout: float = 30.0) -> LoadReport:
    """Run `clients` threads, each making `requests_per_client` requests that alternate
    `SELECT 1` with a `pg_sleep(hold)` held connection. Errors are collected, not raised."""
    report = LoadReport(clients=clients)
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def client(index: int) -> None:
        waits: list[float] = []
        try:
            gate.wait(timeout)
            for request in range(requests_per_client):
                asked = time.perf_counter()
                with pool.connection(timeout=timeout) as conn:
                    waits.append(time.perf_counter() - asked)
                    if (index + request) % 2:
                        conn.execute("SELECT pg_sleep(%s)", (hold,))
                    else:
                        conn.execute("SELECT 1")
        except Exception as exc:  # reported in the guard's failure message
            with lock:
                report.errors.append(f"client {index}: {type(exc).__name__}: {exc}")
        finally:
            with lock:
                report.waits.extend(waits)
                report.requests += len(waits)

    threads = [threading.Thread(target=client, args=(i,), name=f"tzurot-load-{i}") for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.elapsed = time.perf_counter() - started
    return report
