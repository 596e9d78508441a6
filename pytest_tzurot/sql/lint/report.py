"""Output formats for lint findings: text (grouped per file), json, github annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pytest_tzurot.sql.lint.findings import Finding

FORMATS = ("text", "json", "github")


def _counts(findings: Sequence[Finding]) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.is_error)
    return errors, len(findings) - errors


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def text(findings: Sequence[Finding], files: int) -> str:
    """Findings grouped per file, in file order then position, and a summary line."""
    lines: list[str] = []
    current = None
    for f in findings:
        if f.path != current:
            if current is not None:
                lines.append("")
            lines.append(f.path)
            current = f.path
        lines.append(f"  {f.line}:{f.column}  {f.severity.value:<7}  {f.rule}  {f.message}")
        if f.hint:
            lines.append(f"      fix: {f.hint}")
    errors, warnings = _counts(findings)
    if lines:
        lines.append("")
    with_findings = len({f.path for f in findings})
    lines.append(
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in "
        f"{with_findings} of {_plural(files, 'file')}"
    )
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding], files: int) -> str:
    errors, warnings = _counts(findings)
    document = {
        "files": files,
        "errors": errors,
        "warnings": warnings,
        "findings": [f.as_dict() for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding], files: int) -> str:
    """GitHub Actions workflow commands: `::error file=...,line=...,col=...,title=TZ001::...`."""
    lines = []
    for f in findings:
        level = "error" if f.is_error else "warning"
        message = f.message + (f"\nfix: {f.hint}" if f.hint else "")
        lines.append(
            f"::{level} file={_escape_property(f.path)},line={f.line},col={f.column},"
            f"title={_escape_property(f.rule)}::{_escape_data(message)}"
        )
    errors, warnings = _counts(findings)
    lines.append(
        f"tzurot lint: {_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"
    )
    return "\n".join(lines) + "\n"


def render(fmt: str, findings: Sequence[Finding], files: int) -> str:
    return {"text": text, "json": as_json, "github": github}[fmt](findings, files)
