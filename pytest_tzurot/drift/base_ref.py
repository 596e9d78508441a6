"""Which commit's migrations count as applied: the base ref of the edit guard.

An explicit `--tzurot-base-ref` wins; otherwise the merge-base of HEAD with
`origin/main`, falling back to `main` (a branch compares against where it
forked; on main itself that is HEAD, so uncommitted edits are still seen).
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tzurot.drift.git import GitError, Repo

DEFAULT_CANDIDATES = ("origin/main", "main")


@dataclass(frozen=True)
class BaseRef:
    """The resolved base: what was asked for, the commit, and how it was chosen."""

    ref: str
    commit: str
    how: str

    @property
    def short(self) -> str:
        return self.commit[:12]

    def describe(self) -> str:
        return f"{self.ref} ({self.short}, {self.how})"


def resolve(repo: Repo, explicit: str | None = None) -> BaseRef:
    """The base commit; GitError when the explicit ref, or every default, names nothing."""
    if explicit:
        commit = repo.commit_of(explicit)
        if commit is None:
            raise GitError(
                f"--tzurot-base-ref {explicit!r} names no commit in {repo.root}; "
                "fetch it (git fetch origin) or pass an existing branch, tag or sha"
            )
        return BaseRef(explicit, commit, "given")
    for candidate in DEFAULT_CANDIDATES:
        if repo.commit_of(candidate) is None:
            continue
        base = repo.merge_base("HEAD", candidate)
        if base is not None:
            return BaseRef(candidate, base, f"merge-base of HEAD and {candidate}")
    raise GitError(
        f"no base ref in {repo.root}: neither origin/main nor main exists (or HEAD has no commit); "
        "pass --tzurot-base-ref REF"
    )
