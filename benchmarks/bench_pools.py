"""How well the connection sampler sees short bursts, and what it costs.

For each sampler mode (spinning: no pause between samples; paused: pg_sleep(1 ms)
between samples) and each machine state (as it is; plus two CPU-bound processes
competing for the cores), it reports the achieved sampling interval, the longest gap, and
the share of bursts caught: a burst is three extra connections held together
for D ms, each watched by a fresh ConnectionWatch. It also reports the cost: the
time a fixed workload (500 pooled queries) takes with the watch relative to
without it.

    .venv/bin/python benchmarks/bench_pools.py [--trials 20] [--bursts 0.5 1 2 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from pytest_tzurot import server
from pytest_tzurot.connect import connect
from pytest_tzurot.connections.watch import ConnectionWatch
from pytest_tzurot.dsn import with_database
from pytest_tzurot.server.base import ServerSettings

BURSTS_MS = (0.5, 1.0, 2.0, 5.0)
MODES = {"spin": 0.0, "pause 1 ms": 0.001}


def _hog(stop: Any) -> None:
    while not stop.is_set():
        sum(range(10_000))


def _burst(dsn: str, hold: float, pause: float) -> tuple[bool, float, float]:
    conns = [psycopg.connect(dsn) for _ in range(3)]  # opened before the watch: baseline excluded below
    for conn in conns:
        conn.close()
    watch = ConnectionWatch(dsn, pause=pause, leak_grace=0.2).start()
    conns = [psycopg.connect(dsn) for _ in range(3)]
    end = time.perf_counter() + hold
    while time.perf_counter() < end:  # sleep() overshoots by ~0.1 ms; spin for sub-ms holds
        pass
    for conn in conns:
        conn.close()
    report = watch.stop()
    return report.peak >= 3, report.stats.mean_interval, report.stats.max_gap


def _workload(dsn: str) -> float:
    with ConnectionPool(dsn, min_size=2, max_size=2, open=True) as pool:
        started = time.perf_counter()
        for _ in range(500):
            with pool.connection() as conn:
                conn.execute("SELECT 1")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--bursts", type=float, nargs="+", default=list(BURSTS_MS), help="hold times in ms")
    args = parser.parse_args()
    srv = server.start(ServerSettings())
    try:
        with connect(srv.dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_pools")
        dsn = with_database(srv.dsn, "bench_pools")
        print(f"PostgreSQL {srv.server_version}, {multiprocessing.cpu_count()} cores, "
              f"{args.trials} bursts of 3 connections per cell")
        print(f"{'load':<10} {'mode':<11} {'interval':>9} {'max gap':>8} "
              + " ".join(f"{f'{ms:g} ms':>7}" for ms in args.bursts) + f" {'cost':>6}")
        for load in ("as is", "+2 hogs"):
            stop = multiprocessing.Event()
            count = 0 if load == "as is" else 2
            hogs = [multiprocessing.Process(target=_hog, args=(stop,)) for _ in range(count)]
            for hog in hogs:
                hog.start()
            try:
                for mode, pause in MODES.items():
                    caught, intervals, gaps = [], [], []
                    for ms in args.bursts:
                        hits = 0
                        for _ in range(args.trials):
                            hit, interval, gap = _burst(dsn, ms / 1000, pause)
                            hits += hit
                            intervals.append(interval)
                            gaps.append(gap)
                        caught.append(hits / args.trials)
                    ratios = []
                    for _ in range(5):  # interleaved, so a change in the machine's load hits both sides
                        bare = _workload(dsn)
                        watch = ConnectionWatch(dsn, pause=pause, leak_grace=0.2).start()
                        watched = _workload(dsn)
                        watch.stop()
                        ratios.append(watched / bare)
                    cost = statistics.median(ratios)
                    print(f"{load:<10} {mode:<11} {statistics.median(intervals) * 1e3:>6.3f} ms "
                          f"{statistics.median(gaps) * 1e3:>5.1f} ms "
                          + " ".join(f"{rate:>7.0%}" for rate in caught) + f" {cost:>5.2f}x")
            finally:
                stop.set()
                for hog in hogs:
                    hog.join()
    finally:
        server.stop(srv)


if __name__ == "__main__":
    main()
