"""Git plumbing and base-ref resolution on a temporary repository; edit classification messages."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pytest_tzurot.drift import base_ref
from pytest_tzurot.drift.edit import COSMETIC, IDENTICAL, SEMANTIC, classify
from pytest_tzurot.drift.git import GitError, find_repo

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.sql").write_bytes(b"CREATE TABLE a (id int);\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    return tmp_path


def test_every_committed_version_of_a_path_on_any_ref(checkout: Path) -> None:
    path = checkout / "m" / "a.sql"
    first = git(checkout, "rev-parse", "HEAD")
    git(checkout, "checkout", "-q", "-b", "side")
    path.write_bytes(b"CREATE TABLE a (id bigint);\n")
    git(checkout, "commit", "-q", "-am", "two")
    second = git(checkout, "rev-parse", "HEAD")
    git(checkout, "checkout", "-q", "main")  # the second version is only on another branch
    repo = find_repo(path)
    assert repo is not None and repo.root == checkout.resolve()
    blobs = dict(repo.path_blobs(repo.relative(path)))  # blob -> the commit that introduced it
    contents = repo.read_blobs(list(blobs))
    by_commit = {commit: contents[blob] for blob, commit in blobs.items()}
    assert by_commit == {first: b"CREATE TABLE a (id int);\n", second: b"CREATE TABLE a (id bigint);\n"}
    assert repo.tree(first, "m") == {"m/a.sql": next(b for b, c in blobs.items() if c == first)}
    assert repo.tree(first, "nowhere") == {}


def test_base_ref_prefers_the_merge_base_with_origin_main(checkout: Path) -> None:
    repo = find_repo(checkout)
    assert repo is not None
    fork = git(checkout, "rev-parse", "HEAD")
    assert base_ref.resolve(repo) == base_ref.BaseRef("main", fork, "merge-base of HEAD and main")
    git(checkout, "checkout", "-q", "-b", "feature")
    git(checkout, "commit", "-q", "--allow-empty", "-m", "work")
    git(checkout, "update-ref", "refs/remotes/origin/main", fork)
    found = base_ref.resolve(repo)
    assert (found.ref, found.commit) == ("origin/main", fork)
    assert base_ref.resolve(repo, "HEAD").commit == git(checkout, "rev-parse", "HEAD")
    with pytest.raises(GitError, match="--tzurot-base-ref 'v9' names no commit"):
        base_ref.resolve(repo, "v9")


def test_no_default_base_ref(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "x")
    repo = find_repo(tmp_path)
    assert repo is not None
    with pytest.raises(GitError, match="neither origin/main nor main exists"):
        base_ref.resolve(repo)


def test_not_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert find_repo(tmp_path) is None


def test_classify_names_the_first_differing_statement() -> None:
    old = b"CREATE TABLE a (id int);\nCREATE INDEX a_idx ON a (id);\n"
    assert classify(old, old.replace(b"\n", b"\r\n")).kind == IDENTICAL
    assert classify(old, b"-- x\ncreate table A (ID int);\n\ncreate index A_IDX on A (ID)").kind == COSMETIC
    verdict = classify(old, old.replace(b"a (id)", b"a (id DESC)"))
    assert verdict.kind == SEMANTIC and verdict.difference is not None
    assert verdict.difference.describe() == (
        "statement 2 differs: applied (line 2) `CREATE INDEX a_idx ON a (id)`, "
        "now (line 2) `CREATE INDEX a_idx ON a (id DESC)`"
    )
    spaced = classify(b"SELECT 'a b';", b"SELECT 'a  b';")
    assert spaced.difference is not None
    assert spaced.difference.describe() == (
        "statement 1 differs: applied (line 1) `SELECT 'a b'`, now (line 1) `SELECT 'a  b'`"
    )
    removed = classify(old, old.split(b"\n")[0])
    assert removed.difference is not None
    assert removed.difference.describe() == "statement 2 (line 2) was removed: `CREATE INDEX a_idx ON a (id)`"
    assert classify(old, b"\xff\xfe").reason == "a version is not UTF-8 text, so only bytes can be compared"
    assert "cannot be read as SQL" in classify(old, b"SELECT 'oops").reason


def test_a_difference_deep_in_a_long_statement_stays_visible() -> None:
    cols = ", ".join(f"c{i} int" for i in range(80))
    old = f"CREATE TABLE t ({cols});".encode()
    verdict = classify(old, old.replace(b"c60 int", b"c60 bigint"))
    assert verdict.difference is not None
    message = verdict.difference.describe()
    assert "c60 int," in message and "c60 bigint," in message and "`..." in message
