"""pytest-tzurot: guard a PostgreSQL + pgvector schema in CI and before a push.

`pytest -p pytest_tzurot` registers this package as a pytest plugin. The hooks
and fixtures live in `pytest_tzurot.plugin`; they are imported here only when
pytest is already running, so the `tzurot` command and the Python API stay
light to import.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

if "pytest" in sys.modules and "_pytest.config" in sys.modules:
    from pytest_tzurot.plugin import *  # noqa: F403
