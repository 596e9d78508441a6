"""The checks behind the built-in guard tests, one module per concern."""

# Each module has `collect(manifest, settings) -> Iterable[GuardSpec]`.
GUARD_MODULES = (
    "pytest_tzurot.guards.indexes",
    "pytest_tzurot.guards.drift",
    "pytest_tzurot.guards.pools",
    "pytest_tzurot.guards.search",
)
