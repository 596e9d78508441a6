# Imported here, in the outer process, because pytester's in-process runs drop the
# modules first imported inside them: numpy cannot be loaded twice, and sqlglot keeps a
# registry of dialect classes that a second import of our dialect would not match.
import numpy  # noqa: F401
import sqlglot  # noqa: F401

import pytest_tzurot.sql.dialect  # noqa: F401

pytest_plugins = ["pytester"]
