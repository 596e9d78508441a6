"""The search guard's parts, one concern per module.

`query` reads the application's query file and its parameters, `target`
finds the index's definition, `shape` checks the query statically, `vectors`
generates deterministic data, `seed` loads it and rebuilds the index, `plan`
reads EXPLAIN, `results` measures order, values and recall against exact search.
"""
