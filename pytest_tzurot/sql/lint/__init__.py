"""The static lint for migrations: protected vector indexes, idempotency, transactions.

`lint_text(text, path, indexes)` lints one migration's SQL; `lint_files`
lints many (each on its own: a migration must be self-contained);
`expand(paths)` turns files and migration directories into the files to
lint, in apply order. No database and no sqlglot import: the lint reads
statements with its own PostgreSQL lexer, so a pre-commit run stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pytest_tzurot.config import ProtectedIndex
from pytest_tzurot.errors import ConfigError, MigrationError
from pytest_tzurot.sql.lint import suppression
from pytest_tzurot.sql.lint.findings import RULES, Finding, Rule, Severity
from pytest_tzurot.sql.lint.rules import MigrationLint

__all__ = ["RULES", "Finding", "Rule", "Severity", "expand", "lint_files", "lint_migration", "lint_text"]


def lint_text(
    text: str,
    path: str = "<sql>",
    indexes: Sequence[ProtectedIndex] = (),
    absent: frozenset[str] = frozenset(),
) -> list[Finding]:
    """All findings for one migration's SQL, suppressions applied, sorted by position. Never raises.

    `absent`: protected indexes no earlier migration has created (see `history.present_before`)."""
    return lint_migration(text, path, indexes, absent)[0]


def lint_migration(
    text: str, path: str, indexes: Sequence[ProtectedIndex], absent: frozenset[str] = frozenset()
) -> tuple[list[Finding], frozenset[str]]:
    """`lint_text`'s findings, and the protected indexes that exist after this migration."""
    lint = MigrationLint(text, path, tuple(indexes), absent)
    findings = lint.run()
    suppressions, problems = suppression.parse(lint.comments, lint.positions, path)
    starts: dict[int, int] = {}
    for parsed in lint.parsed:
        first, _ = lint.positions.of(parsed.statement.start)
        last, _ = lint.positions.of(max(parsed.statement.end - 1, parsed.statement.start))
        for line in range(first, last + 1):
            starts.setdefault(line, first)
    findings = suppression.apply(findings + problems, suppressions, starts, path)
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule)), lint.present_after()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def lint_files(
    paths: Iterable[Path], indexes: Sequence[ProtectedIndex] = (), migrations_dir: Path | None = None
) -> list[Finding]:
    """Findings of every file, file by file; an unreadable or non-UTF-8 file is a TZ000 finding.

    A file that is one of `migrations_dir`'s migrations is checked from the state the migrations
    before it leave (a protected index that none of them creates cannot be lost yet); any other
    file from a database where every protected index exists as declared."""
    from pytest_tzurot.sql.lint.history import History

    history = History(migrations_dir, tuple(indexes)) if migrations_dir is not None and indexes else None
    findings: list[Finding] = []
    for path in paths:
        absent = history.absent_before(path) if history is not None else frozenset()
        shown = _display(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            findings.append(
                Finding(
                    "TZ000",
                    shown,
                    1,
                    1,
                    f"unparseable SQL: not UTF-8 ({exc.reason} at byte {exc.start})",
                    "save the file as UTF-8",
                )
            )
            continue
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot read: {exc.strerror}") from None
        if text.startswith("\ufeff"):
            # PostgreSQL reads the byte order mark as part of the first word: a syntax error.
            findings.append(
                Finding(
                    "TZ000",
                    shown,
                    1,
                    1,
                    "unparseable SQL: the file starts with a UTF-8 byte "
                    "order mark, which PostgreSQL reads as part of the first word",
                    "save the file as UTF-8 without BOM",
                )
            )
            text = text[1:]
        findings.extend(lint_text(text, shown, indexes, absent))
    return findings


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a directory holding migration.sql as that file; a migrations directory as its
    migrations in apply order. ConfigError (exit 2) for a path that does not exist or a bad layout."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            if (path / "migration.sql").is_file():
                files.append(path / "migration.sql")
                continue
            from pytest_tzurot.migrations.discovery import discover  # only here: it is not light

            try:
                files.extend(migration.path for migration in discover(path))
            except MigrationError as exc:
                raise ConfigError(str(exc)) from None
        else:
            raise ConfigError(
                f"{path}: no such file or directory (give migration files or a migrations directory)"
            )
    return files
