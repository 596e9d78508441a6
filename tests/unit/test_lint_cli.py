"""`tzurot lint`: paths, manifest, formats, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tzurot.cli import main

MANIFEST = """\
migrations:
  dir: migrations
protected_indexes:
  - name: idx_memories_embedding
    table: memories
    column: embedding
    method: ivfflat
    opclass: vector_cosine_ops
    with: {lists: 50}
"""
CREATE = (
    "CREATE INDEX IF NOT EXISTS idx_memories_embedding ON memories USING ivfflat "
    "(embedding vector_cosine_ops) WITH (lists = 50);\n"
)


def _project(root: Path, migrations: dict[str, str]) -> Path:
    (root / "ci.yml").write_text(MANIFEST)
    for name, sql in migrations.items():
        folder = root / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text(sql)
    (root / "migrations" / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return _project(
        tmp_path,
        {
            "20250101000000_init": "CREATE TABLE IF NOT EXISTS memories (id int);\n",
            "20250102000000_index": CREATE,
            "20250103000000_drift": '-- DropIndex\nDROP INDEX "idx_memories_embedding";\n',
        },
    )


def test_default_path_is_the_manifests_migrations_dir_and_errors_exit_1(project, capsys):
    assert main(["lint"]) == 1
    out = capsys.readouterr().out
    path = "migrations/20250103000000_drift/migration.sql"
    assert out.splitlines()[0] == path
    assert '  2:12  error    TZ001  protected index "idx_memories_embedding" is dropped' in out
    assert "      fix: recreate it after the drop: CREATE INDEX IF NOT EXISTS idx_memories_embedding" in out
    assert "  2:1  warning  TZ010" in out
    assert out.rstrip().endswith("1 error, 1 warning in 1 of 3 files")


def test_clean_and_warning_only_runs_exit_0(project, capsys):
    assert main(["lint", "migrations/20250102000000_index"]) == 0
    assert "0 errors, 0 warnings in 0 of 1 file" in capsys.readouterr().out
    warn = project / "warn.sql"
    warn.write_text("CREATE TABLE t (a int);\n")
    assert main(["lint", str(warn)]) == 0
    assert "TZ010" in capsys.readouterr().out


def test_json_format(project, capsys):
    assert main(["lint", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["files"], document["errors"], document["warnings"]) == (3, 1, 1)
    first = document["findings"][0]
    assert first == {
        "rule": "TZ010",
        "severity": "warning",
        "path": "migrations/20250103000000_drift/migration.sql",
        "line": 2,
        "column": 1,
        "message": "DROP INDEX without IF EXISTS fails when it is already gone",
        "hint": "write DROP INDEX IF EXISTS",
    }
    assert document["findings"][1]["rule"] == "TZ001"
    assert document["findings"][1]["hint"].endswith(
        CREATE.strip().replace("ON memories", "ON public.memories")
    )


def test_github_format_explicit_and_auto_selected(project, capsys, monkeypatch):
    assert main(["lint", "--format", "github"]) == 1
    explicit = capsys.readouterr().out
    line = next(x for x in explicit.splitlines() if x.startswith("::error"))
    assert line.startswith(
        "::error file=migrations/20250103000000_drift/migration.sql,line=2,col=12,title=TZ001::"
        'protected index "idx_memories_embedding" is dropped'
    )
    assert "%0Afix: recreate it" in line
    assert any(x.startswith("::warning file=") and "title=TZ010" in x for x in explicit.splitlines())
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["lint"]) == 1
    assert capsys.readouterr().out == explicit
    assert main(["lint", "--format", "text"]) == 1
    assert not capsys.readouterr().out.startswith("::")


def test_github_escapes_properties_and_data():
    from pytest_tzurot.sql.lint.findings import Finding
    from pytest_tzurot.sql.lint.report import github

    out = github([Finding("TZ000", "a,b:c.sql", 1, 2, "100% bad\nreally", "")], 1)
    assert out.splitlines()[0] == "::error file=a%2Cb%3Ac.sql,line=1,col=2,title=TZ000::100%25 bad%0Areally"


def test_files_without_a_manifest_lint_the_generic_rules_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sql = tmp_path / "one.sql"
    sql.write_text("DROP INDEX idx_memories_embedding;\n")
    assert main(["lint", str(sql)]) == 0  # nothing protected: only TZ010
    assert "TZ010" in capsys.readouterr().out


def test_non_utf8_file_and_byte_order_mark_are_findings(project, capsys):
    bad = project / "bad.sql"
    bad.write_bytes(b"SELECT '\xff';\n")
    assert main(["lint", str(bad)]) == 1
    assert "TZ000  unparseable SQL: not UTF-8" in capsys.readouterr().out
    bom = project / "bom.sql"
    bom.write_bytes(b"\xef\xbb\xbfDROP INDEX IF EXISTS idx_memories_embedding;\r\n")
    assert main(["lint", "--format", "json", str(bom)]) == 1
    rules = [(f["rule"], f["line"], f["column"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert rules == [("TZ000", 1, 1), ("TZ001", 1, 22)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lint", "no/such/path.sql"], "no/such/path.sql: no such file or directory"),
        (["lint", "--config", "missing.yml"], "missing.yml: manifest not found"),
        (["lint", "--config", "broken.yml"], "broken.yml: protected_indexes[0].method: expected one of"),
        (["lint", "empty_dir"], "migration folder has no migration.sql"),
    ],
)
def test_usage_and_configuration_errors_exit_2(project, capsys, argv, message):
    (project / "broken.yml").write_text(MANIFEST.replace("ivfflat", "btree"))
    (project / "empty_dir" / "20250101_x").mkdir(parents=True)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_no_path_and_no_manifest_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 2
    assert "no PATH given and no manifest found" in capsys.readouterr().err


def test_bad_format_is_a_usage_error(project):
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "xml"])
    assert exc.value.code == 2


def test_real_process_one_line_no_traceback(project):
    (project / "broken.yml").write_text("protected_indexes: [\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tzurot", "lint", "--config", "broken.yml"],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("tzurot: error: broken.yml:")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    ok = subprocess.run(
        [sys.executable, "-m", "pytest_tzurot", "lint", "migrations/20250102000000_index/migration.sql"],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert (ok.returncode, ok.stderr) == (0, "")
    # the lint never imports sqlglot or psycopg (pre-commit start-up time)
    probe = (
        "import sys; from pytest_tzurot.cli import main; main(['lint', 'migrations/20250103000000_drift']);"
        "print(sorted(m for m in ('sqlglot', 'psycopg') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=project)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_history_a_migration_before_the_index_exists_cannot_lose_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _project(
        tmp_path,
        {
            "20250101000000_init": "DROP TABLE IF EXISTS memories;\n"
            "CREATE TABLE IF NOT EXISTS memories (id int, embedding vector(3));\n",
            "20250102000000_index": CREATE,
            "20250103000000_drop": "DROP INDEX IF EXISTS idx_memories_embedding;\n",
            "20250104000000_restore": CREATE,
            "20250105000000_table": "DROP TABLE IF EXISTS memories;\n",
        },
    )
    assert main(["lint", "--format", "json"]) == 1
    found = [(f["path"].split("/")[1], f["rule"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    # the init migration runs before the index exists; the drop in 3 is still a loss in 3 (the fix in
    # 4 comes later); 4 recreates what 3 dropped; 5 drops the table holding the restored index
    assert found == [("20250103000000_drop", "TZ001"), ("20250105000000_table", "TZ002")]
    # the same verdicts when pre-commit passes single files
    for name, expected in [
        ("20250101000000_init", 0),
        ("20250104000000_restore", 0),
        ("20250103000000_drop", 1),
    ]:
        assert main(["lint", f"migrations/{name}/migration.sql"]) == expected, name
        capsys.readouterr()
    # a file outside the manifest's migrations dir starts from "every protected index exists"
    (tmp_path / "adhoc.sql").write_text("DROP TABLE IF EXISTS memories;\n")
    assert main(["lint", "adhoc.sql"]) == 1
