"""Lint findings and the rule table (code, severity, one-line title)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("TZ000", Severity.ERROR, "unparseable SQL"),
        Rule("TZ001", Severity.ERROR, "protected index dropped and not recreated"),
        Rule("TZ002", Severity.ERROR, "protected index lost indirectly"),
        Rule("TZ003", Severity.ERROR, "protected index renamed or moved"),
        Rule("TZ004", Severity.ERROR, "protected index definition differs from the manifest"),
        Rule("TZ005", Severity.WARNING, "opaque statement or column retype touching a protected index"),
        Rule("TZ008", Severity.ERROR, "invalid suppression comment"),
        Rule("TZ009", Severity.WARNING, "unused suppression comment"),
        Rule("TZ010", Severity.WARNING, "non-idempotent DDL"),
        Rule("TZ011", Severity.ERROR, "CONCURRENTLY in a migration that runs in a transaction"),
        Rule("TZ012", Severity.WARNING, "CONCURRENTLY mixed with other statements without the directive"),
    )
}


@dataclass(frozen=True)
class Finding:
    """One problem at `path:line:column`, with a fix hint (may be empty)."""

    rule: str
    path: str
    line: int
    column: int
    message: str
    hint: str = ""

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }
