"""One server and one migrated template for a whole pytest run, shared by xdist workers.

Nothing starts until a fixture or guard asks. The first process that needs
the server starts it under a file lock and writes a state file; the others
read it. The template is built the same way, once. The process that owns the
run (the xdist controller, or the only process) stops the server and drops
the run's databases in `finish()`.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_tzurot import server as server_mod
from pytest_tzurot.config import Manifest
from pytest_tzurot.databases import Janitor
from pytest_tzurot.errors import ServerError, TzurotError
from pytest_tzurot.server.base import RunningServer, ServerSettings

_LABEL = re.compile(r"[^a-z0-9]+")


def _label(text: str, limit: int) -> str:
    return _LABEL.sub("_", text.lower()).strip("_")[:limit].strip("_") or "db"


@dataclass
class SharedRun:
    """The run's server, janitor and template, shared through `state_dir`."""

    state_dir: Path
    run_id: str
    server_settings: ServerSettings
    manifest: Manifest | None
    worker: str = "main"
    owner: bool = True
    clone_strategy: str = "file_copy"
    keep: bool = False
    _server: RunningServer | None = None
    _janitor: Janitor | None = None
    _template: str | None = None
    _counter: int = 0
    kept: list[str] = field(default_factory=list)

    # -- shared state ----------------------------------------------------------
    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _lock(self) -> FileLock:
        return FileLock(str(self.state_dir / "state.lock"))

    def _read(self) -> dict[str, Any]:
        if self._state_file.exists():
            return json.loads(self._state_file.read_text())
        return {}

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._state_file)

    def started_server(self) -> RunningServer | None:
        """The run's server if some process started it, without starting one."""
        if self._server is not None:
            return self._server
        data = self._read().get("server") if self.state_dir.exists() else None
        return RunningServer.from_json(data) if data else None

    # -- lazily created resources ---------------------------------------------
    def server(self) -> RunningServer:
        """The run's server, started by the first process that asks."""
        if self._server is None:
            with self._lock():
                state = self._read()
                if state.get("server_error"):
                    raise TzurotError(state["server_error"])
                if state.get("server"):
                    self._server = RunningServer.from_json(state["server"])
                else:
                    try:
                        self._server = server_mod.start(self.server_settings)
                    except TzurotError as exc:
                        state["server_error"] = str(exc)
                        self._write(state)
                        raise
                    state["server"] = self._server.to_json()
                    self._write(state)
        return self._server

    def janitor(self) -> Janitor:
        if self._janitor is None:
            srv = self.server()
            self._janitor = Janitor(srv.dsn, self.run_id, srv.server_version_num)
        return self._janitor

    def template(self) -> str:
        """The run's template database with every migration applied, built once."""
        if self._template is None:
            janitor = self.janitor()
            with self._lock():
                state = self._read()
                if state.get("template_error"):
                    raise TzurotError(state["template_error"])
                if state.get("template"):
                    self._template = state["template"]
                else:
                    name = janitor.create("template")
                    try:
                        self._migrate(janitor.dsn(name))
                    except TzurotError as exc:
                        janitor.drop(name)
                        state["template_error"] = f"building the template failed: {exc}"
                        self._write(state)
                        raise TzurotError(state["template_error"]) from None
                    janitor.freeze_template(name)
                    state["template"] = name
                    self._write(state)
                    self._template = name
        return self._template

    def _migrate(self, dsn: str) -> None:
        import psycopg

        from pytest_tzurot.connect import connect
        from pytest_tzurot.migrations import deploy

        with connect(dsn, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                raise ServerError(
                    f"cannot create extension vector ({str(exc).splitlines()[0]}); install pgvector on the "
                    "server and run CREATE EXTENSION vector in template1 as a superuser, or use a "
                    "superuser role"
                ) from None
        if self.manifest is not None:
            settings = self.manifest.migrations
            deploy(
                dsn, settings.dir, history_table=settings.history_table, lock_timeout=settings.lock_timeout
            )

    def _next_suffix(self, label: str) -> str:
        self._counter += 1
        head = f"{_label(self.worker, 8)}_{self._counter}"
        return f"{head}_{_label(label, 40 - len(head))}"

    def clone(self, label: str = "test") -> str:
        """A new database cloned from the template; its name is unique in the run."""
        template = self.template()
        return self.janitor().create(
            self._next_suffix(label), template=template, strategy=self.clone_strategy
        )

    def empty(self, label: str = "empty") -> str:
        """A new empty database of this run."""
        return self.janitor().create(self._next_suffix(label), strategy=self.clone_strategy)

    def release(self, name: str) -> None:
        """Drop a database of this run after use, or keep it with --tzurot-keep."""
        if self.keep:
            self.keep_database(name)
        else:
            self.janitor().drop(name)

    def keep_database(self, name: str) -> None:
        """Record a database kept with --tzurot-keep, in the shared state so that the
        process printing the summary (the xdist controller) lists it too."""
        self.kept.append(name)
        with self._lock():
            state = self._read()
            state.setdefault("kept", []).append(name)
            self._write(state)

    def kept_names(self) -> list[str]:
        """Every database kept by any process of the run, in the order they were kept."""
        shared = self._read().get("kept", []) if self.state_dir.exists() else []
        return shared + [name for name in self.kept if name not in shared]

    # -- end of run ------------------------------------------------------------
    def finish(self) -> None:
        """Close this process's connection; the owner also drops the run's databases and stops
        the server it started (an embedded server's databases go with its folder)."""
        if self._janitor is not None:
            self._janitor.close()
        if not self.owner or not self.state_dir.exists():
            return
        srv = self.started_server()
        try:
            if srv is not None and not self.keep:
                if srv.backend != "embedded":
                    janitor = Janitor(srv.dsn, self.run_id, srv.server_version_num)
                    try:
                        for name in janitor.existing():
                            janitor.drop(name)
                    finally:
                        janitor.close()
                server_mod.stop(srv)
        finally:
            shutil.rmtree(self.state_dir, ignore_errors=True)
