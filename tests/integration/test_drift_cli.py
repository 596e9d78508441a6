"""`tzurot drift check|fix` against real databases: cosmetic edits fixed, semantic ones refused."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from pytest_tzurot.cli import main
from pytest_tzurot.migrations import deploy

pytestmark = pytest.mark.integration

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}

FUNCTION = (
    "CREATE FUNCTION FN() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.note := 'touched';\n"
    "  RETURN NEW;\nEND;\n$$;\n"
)
# name -> (applied, edited): each applied version is valid SQL on its own tables.
COSMETIC = {
    "comments": ("CREATE TABLE c_comments (id int);\n",
                 "-- why this table exists\nCREATE TABLE c_comments (id int /* key */);\n"),
    "whitespace": ("CREATE TABLE c_ws (id int, name text);\n",
                   "\n\nCREATE TABLE c_ws (\n\tid   int,\n\n\tname text\n);\n\n"),
    "keyword_case": ("CREATE TABLE c_case (id INT NOT NULL);\n", "create table C_CASE (ID int not null);\n"),
    "prettier": (
        "CREATE TABLE c_pretty (e vector(3));\n"
        "CREATE INDEX c_pretty_idx ON c_pretty USING ivfflat (e vector_cosine_ops) WITH (lists = 1);\n",
        "create table\n  c_pretty (e vector (3));\n\ncreate index c_pretty_idx on c_pretty using ivfflat (\n"
        "  e vector_cosine_ops\n)\nwith\n  (lists = 1);\n",
    ),
    "semicolon": ("CREATE TABLE c_semi (id int)", "CREATE TABLE c_semi (id int);\n"),
    "function_layout": (FUNCTION.replace("FN", "touch_c"),
                        FUNCTION.replace("FN", "touch_c").replace("  NEW", "    -- stamp\n    new")),
}
SEMANTIC = {
    "lists": ("CREATE TABLE s_lists (e vector(3));\n"
              "CREATE INDEX s_lists_idx ON s_lists USING ivfflat (e vector_cosine_ops) WITH (lists = 50);\n",
              "lists = 50", "lists = 100"),
    "column_type": ("CREATE TABLE s_type (id int, name text);\n", "name text", "name varchar(20)"),
    "quoted_case": ('CREATE TABLE "s_quoted" (id int);\n', '"s_quoted"', '"S_quoted"'),
    "added": ("CREATE TABLE s_added (id int);\n", ");\n", ");\nCREATE INDEX ON s_added (id);\n"),
    "removed": ("CREATE TABLE s_removed (id int);\nCREATE INDEX ON s_removed (id);\n",
                "CREATE INDEX ON s_removed (id);\n", ""),
    "reordered": ("CREATE TABLE s_a (id int);\nCREATE TABLE s_b (id int);\n",
                  "CREATE TABLE s_a (id int);\nCREATE TABLE s_b (id int);\n",
                  "CREATE TABLE s_b (id int);\nCREATE TABLE s_a (id int);\n"),
    "string": ("CREATE TABLE s_str (note text DEFAULT 'draft');\n", "'draft'", "'final'"),
    "function_body": (FUNCTION.replace("FN", "touch_s"), "'touched'", "'stamped'"),
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, check=True).stdout


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name / "migration.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def tzurot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def checksums(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT migration_name, checksum FROM _prisma_migrations").fetchall())


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git checkout as the working directory (no ci.yml: flags decide)."""
    git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def test_cosmetic_edits_are_fixed_and_semantic_ones_refused(
    tzurot_empty_db: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repo / "migrations"
    write(directory, "20250101000000_extension", "CREATE EXTENSION IF NOT EXISTS vector;\n")
    names = {}
    for i, (case, (applied, _)) in enumerate(COSMETIC.items(), start=1):
        names[case] = f"202501020000{i:02d}_c_{case}"
        write(directory, names[case], applied)
    for i, (case, (applied, _, _)) in enumerate(SEMANTIC.items(), start=1):
        names[case] = f"202501030000{i:02d}_s_{case}"
        write(directory, names[case], applied)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "schema")
    deploy(tzurot_empty_db, directory)
    before = checksums(tzurot_empty_db)
    for case, (_, edited) in COSMETIC.items():
        write(directory, names[case], edited)
    for case, (applied, old, new) in SEMANTIC.items():
        write(directory, names[case], applied.replace(old, new))
    common = ("--dsn", tzurot_empty_db, "--dir", str(directory))

    code, out, _ = tzurot(capsys, "drift", "check", *common)
    assert code == 1
    assert f"DRIFT    {names['lists']}" in out and f"recorded {before[names['lists']]}" in out
    assert f"drift found in {len(COSMETIC) + len(SEMANTIC)} migration(s)" in out

    for case in SEMANTIC:
        code, out, err = tzurot(capsys, "drift", "fix", names[case], *common)
        assert code == 1, case
        assert f"refused {names[case]}: the edit changes meaning" in err, case
        assert "add a new migration instead" in err
    _, _, err = tzurot(capsys, "drift", "fix", names["lists"], *common)
    assert "statement 2 differs: applied (line 2) `CREATE INDEX s_lists_idx" in err
    assert "WITH (lists = 50)`, now (line 2) `CREATE INDEX" in err and "WITH (lists = 100)`" in err
    _, _, err = tzurot(capsys, "drift", "fix", names["added"], *common)
    assert "statement 2 (line 2) was added: `CREATE INDEX ON s_added (id)`" in err
    _, _, err = tzurot(capsys, "drift", "fix", names["function_body"], *common)
    assert "'touched'" in err and "'stamped'" in err
    assert checksums(tzurot_empty_db) == before  # every refusal wrote nothing

    cosmetic = [names[c] for c in COSMETIC]
    code, out, err = tzurot(capsys, "drift", "fix", *cosmetic, *common)
    assert (code, err) == (0, "")
    after = checksums(tzurot_empty_db)
    for name in cosmetic:
        new = hashlib.sha256((directory / name / "migration.sql").read_bytes()).hexdigest()
        assert f"fixed {name}: checksum {before[name]} -> {new} (only the checksum column changed; " \
               "cosmetic edit, proved by the _tzurot_fingerprints side table and git commit" in out
        assert after[name] == new
    assert f"{len(cosmetic)} checksum(s) updated in _prisma_migrations" in out
    assert all(after[names[c]] == before[names[c]] for c in SEMANTIC)

    code, out, _ = tzurot(capsys, "drift", "check", *common, "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["drift"] is True
    statuses = {m["name"]: (m["status"], m["edit"]) for m in report["migrations"]}
    assert all(statuses[names[c]] == ("ok", None) for c in COSMETIC)
    assert all(statuses[names[c]] == ("drift", "semantic") for c in SEMANTIC)


def test_mixed_fix_is_all_or_nothing_and_crlf_is_not_drift(
    tzurot_empty_db: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repo / "migrations"
    write(directory, "20250101000000_a", "CREATE TABLE a (id int);\n")
    write(directory, "20250102000000_b", "CREATE TABLE b (id int);\n")
    write(directory, "20250103000000_c", "CREATE TABLE c (id int);\n")
    deploy(tzurot_empty_db, directory)  # not committed: only the side table knows the applied versions
    before = checksums(tzurot_empty_db)
    write(directory, "20250101000000_a", "create table A (ID int);\n")
    write(directory, "20250102000000_b", "CREATE TABLE b (id bigint);\n")
    write(directory, "20250103000000_c", b"CREATE TABLE c (id int);\r\n")
    common = ("--dsn", tzurot_empty_db, "--dir", str(directory))

    code, out, err = tzurot(capsys, "drift", "fix", "20250101000000_a", "20250102000000_b", *common)
    assert code == 1
    assert "refused 20250102000000_b: the edit changes meaning (compared with the _tzurot_fingerprints " \
           "side table): the fingerprints differ; the statement cannot be shown because none of the 0 " \
           "committed version(s) of migrations/20250102000000_b/migration.sql" in err
    assert "not fixed 20250101000000_a: would be fixable (cosmetic edit, proved by the " \
           "_tzurot_fingerprints side table), but nothing is written while another migration is " \
           "refused" in err
    assert "nothing was changed: 1 of 2 refused" in err and out == ""
    assert checksums(tzurot_empty_db) == before

    code, out, _ = tzurot(capsys, "drift", "check", *common)
    assert "OK       20250103000000_c" in out  # Prisma's line-ending tolerance
    code, out, _ = tzurot(capsys, "drift", "fix", "20250101000000_a", "20250103000000_c", *common)
    assert code == 0
    assert "fixed 20250101000000_a: checksum" in out
    assert "unchanged 20250103000000_c: the file already matches the recorded checksum" in out


def prisma_apply(dsn: str, name: str, content: bytes) -> None:
    """Apply and record a migration the way Prisma does: no side table, sha256 of the bytes."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            'CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL,'
            ' "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,'
            ' "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,'
            ' "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),'
            ' "applied_steps_count" INTEGER NOT NULL DEFAULT 0)'
        )
        conn.execute(content.decode())
        conn.execute(
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)"
            " VALUES (%s, %s, %s, now(), 1)",
            (str(uuid.uuid4()), hashlib.sha256(content).hexdigest(), name),
        )


def test_git_history_proves_edits_of_a_prisma_migrated_database(
    tzurot_empty_db: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repo / "prisma" / "migrations"
    name = "20250101000000_init"
    v1 = b'CREATE TABLE "User" (\n    "id" SERIAL NOT NULL,\n    "email" TEXT NOT NULL\n);\n'
    path = write(directory, name, v1)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    first = git(repo, "rev-parse", "HEAD").strip()
    prisma_apply(tzurot_empty_db, name, v1)
    git(repo, "checkout", "-q", "-b", "format")
    path.write_bytes(b'-- CreateTable\ncreate table "User" ("id" serial not null, "email" text not null);\n')
    git(repo, "commit", "-q", "-am", "prettier")
    git(repo, "checkout", "-q", "main")  # the applied version is only on main, the edit only on a branch
    git(repo, "merge", "-q", "--ff-only", "format")
    common = ("--dsn", tzurot_empty_db, "--dir", str(directory))

    code, out, _ = tzurot(capsys, "drift", "check", *common)
    assert code == 1
    assert f"cosmetic edit, proved by git commit {first[:12]}; fix the checksum with " \
           f"`tzurot drift fix {name}`" in out
    code, out, _ = tzurot(capsys, "drift", "fix", name, *common)
    assert code == 0
    assert f"fixed {name}: checksum {hashlib.sha256(v1).hexdigest()} -> " \
           f"{hashlib.sha256(path.read_bytes()).hexdigest()}" in out
    assert tzurot(capsys, "drift", "check", *common)[0] == 0

    # The recorded checksum is now the committed reformatted version: a semantic edit is named.
    path.write_bytes(path.read_bytes().replace(b'"email" text', b'"Email" text'))
    code, _, err = tzurot(capsys, "drift", "fix", name, *common)
    assert code == 1
    assert 'statement 1 differs: applied (line 2) `create table "User" ("id" serial not null, "email"' in err
    assert '"Email" text not null)`' in err

    # A version never committed: nothing proves the edit, so only --force accepts it.
    path.write_bytes(b'CREATE TABLE "User" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL); -- local\n')
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("UPDATE _prisma_migrations SET checksum = %s", ("0" * 64,))
    code, _, err = tzurot(capsys, "drift", "fix", name, *common)
    assert code == 1
    assert f"refused {name}: cannot prove the edit is cosmetic: the applied version was not found: " \
           f"no _tzurot_fingerprints row for {name} (applied by another tool?); none of the 2 committed " \
           f"version(s) of prisma/migrations/{name}/migration.sql (git log --all) has checksum" in err
    assert "re-run with --force" in err
    code, out, _ = tzurot(capsys, "drift", "fix", name, "--force", *common)
    assert code == 0
    assert f"forced {name}: checksum {'0' * 64} -> {hashlib.sha256(path.read_bytes()).hexdigest()}" in out


def test_missing_renamed_and_bad_input(
    tzurot_empty_db: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repo / "migrations"
    write(directory, "20250101000000_a", "CREATE TABLE a (id int);\n")
    write(directory, "20250102000000_b", "CREATE TABLE b (id int);\n")
    deploy(tzurot_empty_db, directory)
    (directory / "20250101000000_a").rename(directory / "20250101000000_first")
    (directory / "20250102000000_b" / "migration.sql").unlink()
    (directory / "20250102000000_b").rmdir()
    write(directory, "20250103000000_c", "CREATE TABLE c (id int);\n")
    common = ("--dsn", tzurot_empty_db, "--dir", str(directory))

    code, out, _ = tzurot(capsys, "drift", "check", *common)
    assert code == 1
    assert "RENAMED  20250101000000_a" in out and "(name 20250101000000_first)" in out
    assert "MISSING  20250102000000_b" in out and "restore the file from git" in out
    assert "PENDING  20250103000000_c" in out

    code, _, err = tzurot(capsys, "drift", "fix", "20250102000000_b", *common)
    assert code == 1 and "refused 20250102000000_b: its file is missing on disk" in err
    code, _, err = tzurot(capsys, "drift", "fix", "20250103000000_c", *common)
    assert code == 1 and "it is not applied to this database" in err
    code, _, err = tzurot(capsys, "drift", "fix", "nope", *common)
    assert code == 2 and err.startswith("tzurot: error: no migration named nope on disk or in the history")

    code, _, err = tzurot(capsys, "drift", "check", "--dir", str(directory))
    assert code == 2 and "no database: pass --dsn" in err
    code, _, err = tzurot(capsys, "drift", "check", "--dir", str(directory),
                          "--dsn", "postgresql://u:secret@127.0.0.1:1/x")
    assert code == 2 and err.count("\n") == 1 and "cannot connect" in err and "secret" not in err
    code, _, err = tzurot(capsys, "drift", "check", "--dsn", tzurot_empty_db, "--dir", str(repo / "none"))
    assert code == 2 and "migrations directory not found" in err
    code, _, err = tzurot(capsys, "drift", "check", "--dsn", tzurot_empty_db, "--config", str(repo / "x.yml"))
    assert code == 2 and "x.yml" in err


def test_a_fingerprint_of_an_older_algorithm_proves_nothing_and_deploys_refresh_it(
    tzurot_empty_db: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A side-table value of tzurot-fp-1 (bare hex) is neither proof nor disproof of an edit; a
    deploy replaces it while the file is still the applied version."""
    from pytest_tzurot.sql.fingerprint import ALGORITHM, fingerprint

    directory = repo / "migrations"
    name = "20250101000000_a"
    applied = "CREATE TABLE a (id int);\n"
    path = write(directory, name, applied)  # never committed: git cannot help either
    deploy(tzurot_empty_db, directory)
    old_value = fingerprint(applied).partition(":")[2]  # how tzurot-fp-1 stored it
    with psycopg.connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("UPDATE _tzurot_fingerprints SET fingerprint = %s", (old_value,))
    common = ("--dsn", tzurot_empty_db, "--dir", str(directory))

    path.write_text("-- cosmetic\n" + applied)
    code, _, err = tzurot(capsys, "drift", "fix", name, *common)
    assert code == 1
    assert f"refused {name}: cannot prove the edit is cosmetic: the applied version was not found: " \
           f"its _tzurot_fingerprints row was recorded by an older fingerprint algorithm (this one is " \
           f"{ALGORITHM})" in err

    path.write_text(applied)  # the applied bytes again: the next deploy refreshes the value
    assert deploy(tzurot_empty_db, directory).applied_names == []
    with psycopg.connect(tzurot_empty_db) as conn:
        value = conn.execute("SELECT fingerprint FROM _tzurot_fingerprints").fetchone()
    assert value == (fingerprint(applied),)
    path.write_text("-- cosmetic\n" + applied)
    code, out, _ = tzurot(capsys, "drift", "fix", name, *common)
    assert code == 0 and "cosmetic edit, proved by the _tzurot_fingerprints side table" in out
