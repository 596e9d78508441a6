"""The guard manifest (YAML) as typed, validated, frozen settings.

`load(path)` either returns a `Manifest` or raises `ConfigError` with one
line that names the file, the key path and what was expected, e.g.
`ci.yml: protected_indexes[0].method: expected one of hnsw, ivfflat, got 'btree'`.
Unknown keys are errors too, so a typo never silently disables a guard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tzurot.errors import ConfigError

INDEX_METHODS = ("hnsw", "ivfflat")
# pgvector's defaults, used when the manifest leaves an option out.
PGVECTOR_DEFAULTS: dict[str, dict[str, int]] = {
    "ivfflat": {"lists": 100},
    "hnsw": {"m": 16, "ef_construction": 64},
}
DEFAULT_HISTORY_TABLE = "_prisma_migrations"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class MigrationsSettings:
    """Where the migrations are and how the runner records them."""

    dir: Path
    history_table: str = DEFAULT_HISTORY_TABLE
    idempotent: bool = False
    lock_timeout: float = 10.0


@dataclass(frozen=True)
class ProtectedIndex:
    """A vector index that must survive every migration, exactly as declared."""

    name: str
    table: str
    column: str
    method: str
    opclass: str
    with_options: Mapping[str, int | float | str] = field(default_factory=dict)
    schema: str = "public"

    def effective_options(self) -> dict[str, str]:
        """Declared WITH options over pgvector's defaults, as PostgreSQL reports them (text)."""
        merged: dict[str, Any] = dict(PGVECTOR_DEFAULTS.get(self.method, {}))
        merged.update(self.with_options)
        return {key: str(value) for key, value in merged.items()}


@dataclass(frozen=True)
class PoolService:
    """One service's connection pool: `size` connections per replica."""

    name: str
    size: int
    replicas: int = 1
    min_size: int = 0

    @property
    def total(self) -> int:
        return self.size * self.replicas


@dataclass(frozen=True)
class PoolSettings:
    """The connection budget: what the services may hold against the server's limit."""

    max_connections: int
    reserved: int = 0
    services: tuple[PoolService, ...] = ()


@dataclass(frozen=True)
class SearchCheck:
    """A similarity query of the application, checked for shape, plan and recall."""

    name: str
    query: Path
    index: str
    k: int = 10
    rows: int = 20000
    min_recall: float = 0.9
    settings: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    queries: int = 20


@dataclass(frozen=True)
class Manifest:
    """The whole guard manifest; `path` is the file it came from."""

    path: Path
    migrations: MigrationsSettings
    protected_indexes: tuple[ProtectedIndex, ...] = ()
    pool: PoolSettings | None = None
    search: tuple[SearchCheck, ...] = ()

    @property
    def root(self) -> Path:
        """Relative paths in the manifest are relative to its folder."""
        return self.path.parent


class _Reader:
    """Walks the parsed YAML, raising ConfigError with file and key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, got: Any = ...) -> ConfigError:
        where = f"{self.path.name}: {key}" if key else self.path.name
        tail = "" if got is ... else f", got {got!r}"
        return ConfigError(f"{where}: expected {expected}{tail}")

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str] = frozenset()) -> dict:  # type: ignore[assignment]
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping", value)
        for name in value:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                prefix = f"{key}." if key else ""
                raise ConfigError(
                    f"{self.path.name}: {prefix}{name}: unknown key (known keys: {known})"
                )
        for name in sorted(required):
            if name not in value:
                prefix = f"{key}." if key else ""
                raise ConfigError(f"{self.path.name}: {prefix}{name}: required key is missing")
        return value

    def string(self, value: Any, key: str, ident: bool = False) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string", value)
        if ident and not _IDENT.match(value):
            raise self.fail(key, "an SQL identifier (letters, digits, _)", value)
        return value

    def integer(self, value: Any, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer", value)
        if value < minimum:
            raise self.fail(key, f"an integer >= {minimum}", value)
        return value

    def number(self, value: Any, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "a number", value)
        if not low <= value <= high:
            raise self.fail(key, f"a number from {low} to {high}", value)
        return float(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def scalars(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping of names to values", value)
        for name, item in value.items():
            if not isinstance(name, str):
                raise self.fail(f"{key}", "string keys", name)
            if item is None or isinstance(item, (dict, list)):
                raise self.fail(f"{key}.{name}", "a number, string or boolean", item)
        return dict(value)

    def file(self, value: Any, key: str) -> Path:
        rel = self.string(value, key)
        resolved = (self.path.parent / rel).resolve()
        if not resolved.is_file():
            raise ConfigError(f"{self.path.name}: {key}: file not found: {rel} (looked in {resolved})")
        return resolved

    def directory(self, value: Any, key: str) -> Path:
        rel = self.string(value, key)
        resolved = (self.path.parent / rel).resolve()
        if not resolved.is_dir():
            raise ConfigError(
                f"{self.path.name}: {key}: directory not found: {rel} (looked in {resolved})"
            )
        return resolved


def _migrations(r: _Reader, raw: Any) -> MigrationsSettings:
    if raw is None:
        raw = {}
    data = r.mapping(raw, "migrations", {"dir", "history_table", "idempotent", "lock_timeout"})
    return MigrationsSettings(
        dir=r.directory(data.get("dir", "migrations"), "migrations.dir"),
        history_table=r.string(
            data.get("history_table", DEFAULT_HISTORY_TABLE), "migrations.history_table", ident=True
        ),
        idempotent=r.boolean(data.get("idempotent", False), "migrations.idempotent"),
        lock_timeout=r.number(data.get("lock_timeout", 10), "migrations.lock_timeout", 0, 86400),
    )


def _protected_indexes(r: _Reader, raw: Any) -> tuple[ProtectedIndex, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail("protected_indexes", "a list", raw)
    result = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"protected_indexes[{i}]"
        data = r.mapping(
            item,
            key,
            {"name", "table", "column", "method", "opclass", "with", "schema"},
            {"name", "table", "column", "method", "opclass"},
        )
        method = r.string(data["method"], f"{key}.method")
        if method not in INDEX_METHODS:
            raise r.fail(f"{key}.method", f"one of {', '.join(INDEX_METHODS)}", method)
        options = r.scalars(data.get("with", {}), f"{key}.with")
        allowed = set(PGVECTOR_DEFAULTS[method])
        for opt in options:
            if opt not in allowed:
                raise r.fail(f"{key}.with.{opt}", f"an option of {method} ({', '.join(sorted(allowed))})")
            r.integer(options[opt], f"{key}.with.{opt}", minimum=1)
        name = r.string(data["name"], f"{key}.name")
        if name in seen:
            raise r.fail(f"{key}.name", "a name not used by another protected index", name)
        seen.add(name)
        result.append(
            ProtectedIndex(
                name=name,
                table=r.string(data["table"], f"{key}.table"),
                column=r.string(data["column"], f"{key}.column"),
                method=method,
                opclass=r.string(data["opclass"], f"{key}.opclass"),
                with_options=options,
                schema=r.string(data.get("schema", "public"), f"{key}.schema"),
            )
        )
    return tuple(result)


def _pool(r: _Reader, raw: Any) -> PoolSettings | None:
    if raw is None:
        return None
    data = r.mapping(raw, "pool", {"max_connections", "reserved", "services"}, {"max_connections"})
    services_raw = data.get("services", {}) or {}
    if not isinstance(services_raw, dict):
        raise r.fail("pool.services", "a mapping of service names to pool sizes", services_raw)
    services = []
    for name, spec in services_raw.items():
        key = f"pool.services.{name}"
        if isinstance(spec, dict):
            spec = r.mapping(spec, key, {"size", "replicas", "min_size"}, {"size"})
            size = r.integer(spec["size"], f"{key}.size", minimum=1)
            services.append(
                PoolService(
                    name=str(name),
                    size=size,
                    replicas=r.integer(spec.get("replicas", 1), f"{key}.replicas", minimum=1),
                    min_size=r.integer(spec.get("min_size", 0), f"{key}.min_size", minimum=0),
                )
            )
        else:
            services.append(PoolService(name=str(name), size=r.integer(spec, key, minimum=1)))
    for service in services:
        if service.min_size > service.size:
            raise r.fail(
                f"pool.services.{service.name}.min_size", f"at most size ({service.size})", service.min_size
            )
    return PoolSettings(
        max_connections=r.integer(data["max_connections"], "pool.max_connections", minimum=1),
        reserved=r.integer(data.get("reserved", 0), "pool.reserved", minimum=0),
        services=tuple(services),
    )


def _search(r: _Reader, raw: Any) -> tuple[SearchCheck, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail("search", "a list", raw)
    result = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"search[{i}]"
        data = r.mapping(
            item,
            key,
            {"name", "query", "index", "k", "rows", "min_recall", "settings", "params", "queries"},
            {"name", "query", "index"},
        )
        name = r.string(data["name"], f"{key}.name")
        if name in seen:
            raise r.fail(f"{key}.name", "a name not used by another search check", name)
        seen.add(name)
        result.append(
            SearchCheck(
                name=name,
                query=r.file(data["query"], f"{key}.query"),
                index=r.string(data["index"], f"{key}.index"),
                k=r.integer(data.get("k", 10), f"{key}.k", minimum=1),
                rows=r.integer(data.get("rows", 20000), f"{key}.rows", minimum=1),
                min_recall=r.number(data.get("min_recall", 0.9), f"{key}.min_recall", 0.0, 1.0),
                settings=r.scalars(data.get("settings", {}), f"{key}.settings"),
                params=r.scalars(data.get("params", {}), f"{key}.params"),
                queries=r.integer(data.get("queries", 20), f"{key}.queries", minimum=1),
            )
        )
    return tuple(result)


def load(path: str | Path) -> Manifest:
    """Read and validate the manifest at `path`; raise ConfigError (one line) on any problem."""
    import yaml

    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: manifest not found (set --tzurot-config or ini tzurot_config)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path.name}{where}: invalid YAML: {problem}") from None
    r = _Reader(path)
    if raw is None:
        raw = {}
    data = r.mapping(raw, "", {"migrations", "protected_indexes", "pool", "search"})
    return Manifest(
        path=path,
        migrations=_migrations(r, data.get("migrations")),
        protected_indexes=_protected_indexes(r, data.get("protected_indexes")),
        pool=_pool(r, data.get("pool")),
        search=_search(r, data.get("search")),
    )
