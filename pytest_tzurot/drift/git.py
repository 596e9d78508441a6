"""The few git plumbing commands drift needs: find the checkout, resolve refs, read blobs.

Every function runs `git` with a fixed argument list (never a shell) and
raises `GitError` with the command's first stderr line when git fails, or
when git is not installed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pytest_tzurot.errors import TzurotError


class GitError(TzurotError):
    """A git command failed or git is missing (exit 2)."""


@dataclass(frozen=True)
class Repo:
    """A git work tree, addressed by its top-level directory."""

    root: Path

    def git(self, *args: str, input: bytes | None = None) -> bytes:
        """stdout of `git -C root args...`; GitError naming the command when it fails."""
        return _run(self.root, args, input)

    def relative(self, path: Path) -> str:
        """`path` relative to the work tree, with forward slashes (as git names it)."""
        return path.resolve().relative_to(self.root).as_posix()

    def commit_of(self, ref: str) -> str | None:
        """The commit id `ref` names, or None when it names nothing."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip() or None
        except GitError:
            return None

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two refs, or None (unrelated or unknown refs)."""
        try:
            return self.git("merge-base", a, b).decode().strip() or None
        except GitError:
            return None

    def tree(self, commit: str, directory: str) -> dict[str, str]:
        """Every file under `directory` at `commit`: path -> blob id ({} if absent)."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", commit, "--", directory)
        files: dict[str, str] = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            _mode, kind, blob = meta.split()
            if kind == b"blob":
                files[path.decode()] = blob.decode()
        return files

    def path_blobs(self, path: str) -> list[tuple[str, str]]:
        """Every version of `path` in any commit reachable from any ref, each blob once, with
        the commit that introduced it (in `git log` order)."""
        out = self.git("log", "--all", "--format=commit %H", "--raw", "--no-abbrev", "--no-renames",
                       "--", path).decode(errors="replace")
        seen: dict[str, str] = {}
        parents: dict[str, str] = {}  # versions only seen as "before" (e.g. past a shallow boundary)
        commit = ""
        for line in out.splitlines():
            if line.startswith("commit "):
                commit = line.split()[1]
            elif line.startswith(":"):
                _modes, _mode, old, new, *_ = line.split("\t", 1)[0].split()
                if set(new) != {"0"}:
                    seen.setdefault(new, commit)
                if set(old) != {"0"}:
                    parents.setdefault(old, f"{commit}^")
        return list(seen.items()) + [(b, c) for b, c in parents.items() if b not in seen]

    def read_blobs(self, blob_ids: list[str]) -> dict[str, bytes]:
        """The content of each blob, read through one `git cat-file --batch`."""
        if not blob_ids:
            return {}
        out = self.git("cat-file", "--batch", input="".join(f"{b}\n" for b in blob_ids).encode())
        blobs: dict[str, bytes] = {}
        pos = 0
        for blob in blob_ids:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].split()
            pos = header_end + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            blobs[blob] = out[pos : pos + size]
            pos += size + 1  # the content is followed by a newline
        return blobs


def find_repo(path: Path) -> Repo | None:
    """The git work tree containing `path`, or None (not a checkout, or git not installed)."""
    try:
        top = _run(path if path.is_dir() else path.parent, ("rev-parse", "--show-toplevel"), None)
    except GitError:
        return None
    return Repo(Path(top.decode().strip()).resolve())


def _run(cwd: Path, args: tuple[str, ...], input: bytes | None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], input=input, capture_output=True,
                              check=False, timeout=60)
    except FileNotFoundError:
        raise GitError("git is not installed (needed to read migrations at a base ref)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} timed out after 60 s in {cwd}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {reason[0] if reason else 'no output'}")
    return done.stdout
