"""One seeded database per search check and run, cloned for each item.

Seeding 20,000 rows and rebuilding the index is most of a search item's time,
and the plan and results items need the same data. The first item to ask (in
any xdist worker) clones the run's migrated template, seeds it, rebuilds the
index and freezes the result as a template, under a file lock in the run's
state folder; every item then gets its own clone of it (a file copy), which it
may change freely and which is dropped after the item. A seeding failure is
recorded as well, so the other item reports the same message instead of
seeding again. The run's owner drops the seeded template with the run's other
databases.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from filelock import FileLock

from pytest_tzurot.errors import GuardFailure

if TYPE_CHECKING:
    from pytest_tzurot.session import SharedRun


def _key(position: int, name: str) -> str:
    label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:20]
    return f"search{position}_{label}".rstrip("_")


def seeded_template(run: SharedRun, position: int, name: str, build: Callable[[str], None]) -> str:
    """The name of the check's seeded template, built once per run with `build(dsn)`.

    Re-raises the GuardFailure `build` raised, in this and every later call of the run.
    """
    key = _key(position, name)
    state_file = run.state_dir / f"{key}.json"
    with FileLock(str(run.state_dir / f"{key}.lock")):
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if "error" in state:
                raise GuardFailure(state["error"])
            return str(state["name"])
        janitor = run.janitor()
        database = janitor.create(f"{key}_seeded", template=run.template(), strategy=run.clone_strategy)
        try:
            build(janitor.dsn(database))
        except GuardFailure as exc:
            janitor.drop(database)
            state_file.write_text(json.dumps({"error": str(exc)}))
            raise
        except BaseException:
            janitor.drop(database)
            raise
        janitor.freeze_template(database)
        state_file.write_text(json.dumps({"name": database}))
        return database


@contextmanager
def seeded_clone(run: SharedRun, position: int, name: str, build: Callable[[str], None]) -> Iterator[str]:
    """DSN of a fresh clone of the check's seeded template; dropped (or kept with --tzurot-keep) after."""
    template = seeded_template(run, position, name, build)
    janitor = run.janitor()
    clone = janitor.create(
        f"{_key(position, name)}_{secrets.token_hex(3)}", template=template, strategy=run.clone_strategy
    )
    try:
        yield janitor.dsn(clone)
    finally:
        run.release(clone)
