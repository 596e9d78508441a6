"""Prisma's DATABASE_URL arguments, translated for libpq."""

from __future__ import annotations

from psycopg import conninfo

from pytest_tzurot.migrations.prisma_url import to_libpq


def test_prisma_only_arguments_dropped_and_schema_becomes_the_search_path():
    url = to_libpq("postgresql://app:p%40ss@db.internal:5432/app?schema=tenant&connection_limit=5"
                   "&pool_timeout=10&pgbouncer=true&sslmode=require")
    assert url.schema == "tenant"
    assert conninfo.conninfo_to_dict(url.dsn) == {
        "user": "app", "password": "p@ss", "host": "db.internal", "port": "5432", "dbname": "app",
        "sslmode": "require", "options": "-c search_path=tenant",
    }


def test_existing_options_kept_and_odd_schema_quoted():
    url = to_libpq("postgresql://app@/app?host=/run/pg&options=-c%20work_mem%3D4MB&schema=My%20Schema")
    params = conninfo.conninfo_to_dict(url.dsn)
    assert params["options"] == '-c work_mem=4MB -c search_path="My\\ Schema"'
    assert params["host"] == "/run/pg"


def test_other_dsns_unchanged():
    for dsn in ("host=/tmp dbname=x", "postgresql://u@h/db?sslmode=require", "postgresql://u@h/db"):
        assert to_libpq(dsn).dsn == dsn and to_libpq(dsn).schema is None
