"""The pytest plugin: options, markers, fixtures, built-in guard items and the run report.

Enable it with `pytest -p pytest_tzurot`. Enabling starts nothing: the server
starts when the first fixture or guard needs a database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tzurot import config as config_mod
from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.databases import CLONE_STRATEGIES, new_run_id
from pytest_tzurot.errors import ConfigError, TzurotError
from pytest_tzurot.guards.base import (
    SUMMARY_KEY,
    GuardContext,
    GuardSpec,
    PluginSettings,
    iter_specs,
)
from pytest_tzurot.guards.pools import _tzurot_connection_markers, connection_budget, tzurot_pool
from pytest_tzurot.guards.search import tzurot_vectors
from pytest_tzurot.server.base import BACKENDS, DEFAULT_IMAGE, RunningServer, ServerSettings
from pytest_tzurot.session import SharedRun

__all__ = [
    "_tzurot_connection_markers",
    "connection_budget",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_configure",
    "pytest_report_header",
    "pytest_unconfigure",
    "tzurot_conn",
    "tzurot_db",
    "tzurot_empty_db",
    "tzurot_pool",
    "tzurot_server",
    "tzurot_vectors",
]

_RUN = pytest.StashKey[SharedRun]()
_SETTINGS = pytest.StashKey[PluginSettings]()
_MANIFEST = pytest.StashKey["config_mod.Manifest | None"]()
DEFAULT_MANIFEST = "ci.yml"
# Fixtures that start the server (tzurot_vectors, for one, does not).
DATABASE_FIXTURES = frozenset(
    {"tzurot_server", "tzurot_db", "tzurot_empty_db", "tzurot_conn", "tzurot_pool", "connection_budget"}
)


def manifest_of(config: pytest.Config) -> config_mod.Manifest | None:
    """The run's guard manifest, or None when the project has none."""
    return config.stash.get(_MANIFEST, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tzurot", "pytest-tzurot: guard a PostgreSQL + pgvector schema")
    group.addoption("--tzurot-backend", choices=BACKENDS, default=None,
                    help="where PostgreSQL comes from (default: embedded; ini tzurot_backend)")
    group.addoption("--tzurot-dsn", default=None,
                    help="server DSN for the external backend (or TZUROT_DATABASE_URL)")
    group.addoption("--tzurot-image", default=None,
                    help=f"image for the docker backend (default {DEFAULT_IMAGE}; ini tzurot_image)")
    group.addoption("--tzurot-config", default=None,
                    help=f"the guard manifest (default {DEFAULT_MANIFEST} in the rootdir; ini tzurot_config)")
    group.addoption("--tzurot-keep", action="store_true", default=False,
                    help="keep the cloned databases (and an embedded server) and print their names")
    group.addoption("--tzurot-clone-strategy", choices=CLONE_STRATEGIES, default=None,
                    help="CREATE DATABASE ... STRATEGY for clones (default file_copy)")
    group.addoption("--tzurot-base-ref", default=None,
                    help="git ref whose migrations count as applied (default: merge-base with origin/main)")
    group.addoption("--tzurot-drift-dsn", default=None,
                    help="a live database (e.g. staging) to check for drift, read-only")
    parser.addini("tzurot_backend", "default backend: embedded, docker or external", default="embedded")
    parser.addini("tzurot_config", "path of the guard manifest", default=DEFAULT_MANIFEST)
    parser.addini("tzurot_image", "image for the docker backend", default=DEFAULT_IMAGE)
    parser.addini("tzurot_clone_strategy", "file_copy or wal_log", default="file_copy")


def _manifest_path(config: pytest.Config) -> tuple[Path, bool]:
    """The manifest path and whether it was asked for explicitly."""
    option = config.getoption("tzurot_config")
    ini = config.getini("tzurot_config")
    raw = option or ini or DEFAULT_MANIFEST
    explicit = bool(option) or (ini != DEFAULT_MANIFEST)
    path = Path(raw)
    if not path.is_absolute():
        path = (Path.cwd() if option else config.rootpath) / path
    return path, explicit


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tzurot_connections(max): fail when the test holds more "
                            "than max server connections at once, or leaks one")
    config.addinivalue_line("markers", "tzurot_new_connections(max): fail when the test opens more "
                            "than max new server connections (a client per call)")
    backend = config.getoption("tzurot_backend") or config.getini("tzurot_backend") or "embedded"
    if backend not in BACKENDS:
        raise pytest.UsageError(f"tzurot_backend = {backend!r}: expected one of {', '.join(BACKENDS)}")
    strategy = config.getoption("tzurot_clone_strategy") or config.getini("tzurot_clone_strategy")
    if strategy not in CLONE_STRATEGIES:
        raise pytest.UsageError(
            f"tzurot_clone_strategy = {strategy!r}: expected one of {', '.join(CLONE_STRATEGIES)}"
        )
    dsn = config.getoption("tzurot_dsn")
    try:
        if dsn:
            dsn_mod.parse(dsn)
        path, explicit = _manifest_path(config)
        manifest = config_mod.load(path) if (explicit or path.exists()) else None
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    settings = PluginSettings(
        rootdir=config.rootpath,
        keep=config.getoption("tzurot_keep"),
        base_ref=config.getoption("tzurot_base_ref"),
        drift_dsn=config.getoption("tzurot_drift_dsn"),
    )
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "tzurot_state_dir" in workerinput:
        state_dir, run_id = Path(workerinput["tzurot_state_dir"]), workerinput["tzurot_run_id"]
        worker, owner = workerinput.get("workerid", "gw"), False
    else:
        state_dir, run_id = Path(tempfile.mkdtemp(prefix="tzurot-run-")), new_run_id()
        worker, owner = "main", True
    config.stash[_RUN] = SharedRun(
        state_dir=state_dir,
        run_id=run_id,
        server_settings=ServerSettings(
            backend=backend,
            dsn=dsn,
            image=config.getoption("tzurot_image") or config.getini("tzurot_image") or DEFAULT_IMAGE,
        ),
        manifest=manifest,
        worker=worker,
        owner=owner,
        clone_strategy=strategy,
        keep=settings.keep,
    )
    config.stash[_SETTINGS] = settings
    config.stash[_MANIFEST] = manifest
    config.pluginmanager.register(_RunReport(config.stash[_RUN]), "tzurot-report")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(config.stash[_RUN]), "tzurot-xdist")


class _XdistHooks:
    """Hands the run's state folder to each xdist worker."""

    def __init__(self, run: SharedRun) -> None:
        self.run = run

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["tzurot_state_dir"] = str(self.run.state_dir)
        node.workerinput["tzurot_run_id"] = self.run.run_id


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.finish()


def _shared_run(config: pytest.Config) -> SharedRun:
    return config.stash[_RUN]


# -- report --------------------------------------------------------------------
def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _shared_run(config)
    manifest = config.stash[_MANIFEST]
    settings = run.server_settings
    # Known without starting anything; the live server's line follows once a test needs it.
    if settings.backend == "embedded":
        from pytest_tzurot.server import embedded

        try:
            pg_version, pgvector = embedded.installed_versions()
        except TzurotError:
            pg_version = pgvector = "not installed"
        parts = [f"PostgreSQL {pg_version}", f"pgvector {pgvector}",
                 "dsn: Unix socket in a temporary folder, started on first use"]
    elif settings.backend == "external":
        dsn = settings.dsn or os.environ.get("TZUROT_DATABASE_URL")
        parts = ["PostgreSQL and pgvector versions: reported on first use",
                 f"dsn {dsn_mod.mask(dsn) if dsn else '(none: set --tzurot-dsn or TZUROT_DATABASE_URL)'}"]
    else:
        parts = [f"image {settings.image}", "PostgreSQL and pgvector versions: reported on first use"]
    shown = manifest.path if manifest else "none (no ci.yml; fixtures give databases with only pgvector)"
    return [f"tzurot: backend {settings.backend}, {', '.join(parts)}; manifest {shown}"]


def _server_line(srv: RunningServer) -> str:
    return (f"server: {srv.backend}, PostgreSQL {srv.server_version}, pgvector {srv.pgvector_version}, "
            f"dsn {srv.masked_dsn}")


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Once collection shows a database is needed, start it and say which one is used."""
    if config.option.collectonly or not any(_needs_database(item) for item in items):
        return []
    try:
        return ["tzurot " + _server_line(_shared_run(config).server())]
    except TzurotError as exc:
        return [f"tzurot server: not available: {exc}"]


def _needs_database(item: pytest.Item) -> bool:
    if isinstance(item, GuardItem):
        return item.spec.needs_database
    names = getattr(item, "fixturenames", ())
    return any(name in DATABASE_FIXTURES for name in names)


class _RunReport:
    """Collects guard figures from test reports (xdist forwards them to the controller)
    and prints them, with the server used, at the end of the run."""

    def __init__(self, run: SharedRun) -> None:
        self.run = run
        self.rows: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.rows.extend(tuple(value) for key, value in report.user_properties if key == SUMMARY_KEY)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        srv = self.run.started_server()
        kept = self.run.kept_names()
        if srv is None and not self.rows and not kept:
            return
        terminalreporter.section("tzurot")
        if srv is not None:
            terminalreporter.line(_server_line(srv))
        sections: dict[str, list[str]] = {}
        for section, line in self.rows:
            sections.setdefault(section, []).append(line)
        for section, lines in sections.items():
            terminalreporter.line(f"{section}:")
            for line in lines:
                terminalreporter.line(f"  {line}")
        if kept:
            terminalreporter.line("kept databases (--tzurot-keep): " + ", ".join(kept))
            if srv is not None and srv.backend == "embedded":
                stop = f"{srv.handle['bin_dir']}/pg_ctl -D {srv.handle['workdir']}/data stop"
                if srv.handle.get("run_as"):
                    stop = f"runuser -u {srv.handle['run_as']} -- {stop}"
                terminalreporter.line(
                    f"the embedded server keeps running: connect with {srv.masked_dsn}; stop it with {stop}"
                )


# -- fixtures ------------------------------------------------------------------
def _or_error(func: Any, *args: Any) -> Any:
    """`func(*args)`, or the test fails with the error's one line (no traceback, no chained one)."""
    try:
        return func(*args)
    except TzurotError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def tzurot_server(pytestconfig: pytest.Config) -> RunningServer:
    """The run's PostgreSQL server (started on first use, shared by xdist workers)."""
    return _or_error(_shared_run(pytestconfig).server)


def _throwaway(request: pytest.FixtureRequest, make: Any) -> Iterator[str]:
    """Yield the DSN of a database made by `make(label)` for this test; release it after."""
    run = _shared_run(request.config)
    name = _or_error(make, request.node.name)
    try:
        yield run.janitor().dsn(name)
    finally:
        run.release(name)


@pytest.fixture
def tzurot_db(request: pytest.FixtureRequest, tzurot_server: RunningServer) -> Iterator[str]:
    """DSN of a fresh database cloned from the migrated template; dropped after the test."""
    yield from _throwaway(request, _shared_run(request.config).clone)


@pytest.fixture
def tzurot_empty_db(request: pytest.FixtureRequest, tzurot_server: RunningServer) -> Iterator[str]:
    """DSN of a fresh empty database (no migrations, no extensions); dropped after the test."""
    yield from _throwaway(request, _shared_run(request.config).empty)


@pytest.fixture
def tzurot_conn(tzurot_db: str) -> Iterator[Any]:
    """A psycopg connection to `tzurot_db` (autocommit off); closed after the test."""
    from pytest_tzurot.connect import connect

    conn = _or_error(connect, tzurot_db)
    try:
        yield conn
    finally:
        conn.close()


# -- built-in guard items ------------------------------------------------------
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    manifest = parent.config.stash.get(_MANIFEST, None)
    if manifest is not None and file_path.resolve() == manifest.path:
        return ManifestFile.from_parent(parent, path=file_path)
    return None


class ManifestFile(pytest.File):
    """The guard manifest, collected as one test item per built-in guard."""

    def collect(self) -> Iterator[pytest.Item]:
        manifest = self.config.stash[_MANIFEST]
        assert manifest is not None
        for spec in iter_specs(manifest, self.config.stash[_SETTINGS]):
            yield GuardItem.from_parent(self, name=spec.id, spec=spec)


class GuardItem(pytest.Item):
    """One built-in guard; its failure message says what broke and how to fix it."""

    def __init__(self, *, spec: GuardSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        ctx = GuardContext(
            manifest=self.config.stash[_MANIFEST],  # type: ignore[arg-type]
            settings=self.config.stash[_SETTINGS],
            run_state=_shared_run(self.config),
        )
        try:
            self.spec.run(ctx)
        finally:
            for row in ctx.summary_rows:
                self.user_properties.append((SUMMARY_KEY, row))
            ctx.cleanup()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, TzurotError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"tzurot guard {self.spec.id}"


__all__ += ["pytest_report_collectionfinish"]
