"""`tzurot hooks install [--force] [--config FILE]`: a git pre-push hook running the lint and the drift guard.

The hook runs `tzurot lint` and `pytest -p pytest_tzurot <manifest> -k migration_edit`
(the drift guard's items) and blocks the push when either fails. An existing
hook is never replaced without --force (a replaced hook is kept as
`pre-push.tzurot-backup`); a hook written by an earlier install is updated.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pytest_tzurot.cli import settings

MARKER = "# tzurot pre-push hook"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hooks", help="install git hooks (pre-push: lint and drift guard)")
    actions = parser.add_subparsers(dest="hooks_command", metavar="ACTION")
    install = actions.add_parser(
        "install",
        help="write .git/hooks/pre-push running `tzurot lint` and the drift guard",
        epilog="Exit codes: 0 installed, 2 not a git repository, hook exists (use --force), bad manifest.",
    )
    install.add_argument("--force", action="store_true", help="replace an existing pre-push hook")
    install.add_argument(
        "--config", default="ci.yml", metavar="FILE", help="the guard manifest (default ci.yml)"
    )
    install.set_defaults(func=run_install)
    parser.set_defaults(func=lambda args: settings.print_usage(parser))


def _git(*args: str) -> str:
    import subprocess

    from pytest_tzurot.errors import ConfigError

    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed or not on PATH") from None
    if done.returncode != 0:
        raise ConfigError(f"not inside a git work tree ({done.stderr.strip() or 'git rev-parse failed'})")
    return done.stdout.strip()


def hook_script(manifest: str, python: str) -> str:
    """The pre-push hook's text; `manifest` is relative to the repository root."""
    import shlex

    m = shlex.quote(manifest)
    return f"""#!/bin/sh
{MARKER} (installed by `tzurot hooks install`; delete this file to uninstall)
# Blocks the push when the migration lint finds errors or an applied migration was edited.
cd "$(git rev-parse --show-toplevel)" || exit 1
PYTHON="${{TZUROT_PYTHON:-{python}}}"
echo "tzurot: linting migrations" >&2
"$PYTHON" -m pytest_tzurot lint --config {m}
status=$?
if [ "$status" -ne 0 ]; then
    echo "tzurot: migration lint failed; push blocked (see above)" >&2
    exit "$status"
fi
echo "tzurot: checking applied migrations for edits (drift guard)" >&2
"$PYTHON" -m pytest -p pytest_tzurot {m} -q -k migration_edit
status=$?
# 5 = no test collected: no migration_edit items, nothing to check.
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    echo "tzurot: drift guard failed; push blocked" >&2
    exit "$status"
fi
exit 0
"""


def run_install(args: argparse.Namespace) -> int:
    """Write the pre-push hook; ConfigError (exit 2) when it exists and --force is not given."""
    import stat

    from pytest_tzurot.errors import ConfigError

    top = Path(_git("rev-parse", "--show-toplevel"))
    hooks = Path(_git("rev-parse", "--git-path", "hooks"))
    if not hooks.is_absolute():
        hooks = Path.cwd() / hooks
    manifest = Path(args.config).resolve()
    if not manifest.is_file():
        raise ConfigError(f"{args.config}: manifest not found; give its path with --config")
    try:
        relative = manifest.relative_to(top.resolve()).as_posix()
    except ValueError:
        raise ConfigError(f"{args.config}: the manifest must be inside the repository ({top})") from None
    hook = hooks / "pre-push"
    if hook.exists():
        ours = MARKER in hook.read_text(encoding="utf-8", errors="replace")
        if not ours and not args.force:
            raise ConfigError(
                f"{hook} already exists; not replacing it (rerun with --force to replace it; "
                "the old hook is then kept as pre-push.tzurot-backup)"
            )
        if not ours:
            hook.replace(hook.with_name("pre-push.tzurot-backup"))
    hooks.mkdir(parents=True, exist_ok=True)
    hook.write_text(hook_script(relative, sys.executable), encoding="utf-8")
    mode = hook.stat().st_mode
    hook.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"tzurot: installed {os.path.relpath(hook)} (lint + drift guard, manifest {relative})")
    return 0
