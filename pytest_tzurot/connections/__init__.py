"""Connection mechanics behind the pool guard, one concern per module.

- `limits`: what the live server allows ordinary (application) roles.
- `budget`: the manifest's pool arithmetic, and which service to shrink.
- `sampler`: a server-side loop watching `pg_stat_activity` for one database.
- `detector`: new backends (client-per-call) from the sampler and the session counter.
- `watch`: peak, new connections and leaks of one database over a span of time.
- `sizing`: a psycopg_pool pool sized from the manifest, with a clear exhaustion error.
- `load`: drive a pool with more clients than connections and measure the waits.
"""
