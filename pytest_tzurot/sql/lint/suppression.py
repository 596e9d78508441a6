"""`-- tzurot: ignore TZ001[,TZ002] <reason>` comments: parsing and applying them.

A suppression covers the findings of the statement that starts on the next
line (or a finding on the next line itself). It must give a reason; one
without a reason, or naming no known rule, is itself an error (TZ008), and
one that suppresses nothing is a warning (TZ009), so stale ones get removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_tzurot.sql.lint.findings import RULES, Finding
from pytest_tzurot.sql.lint.lexer import Comment, Positions

_MARKER = re.compile(r"^--\s*tzurot:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
_CODES = re.compile(r"^\s*(?P<codes>[A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+)*)(?P<reason>.*)$")


@dataclass
class Suppression:
    line: int
    column: int
    codes: tuple[str, ...]
    reason: str
    used: set[str] = field(default_factory=set)


def parse(
    comments: list[Comment], positions: Positions, path: str
) -> tuple[list[Suppression], list[Finding]]:
    """The suppressions in `comments`, and TZ008 findings for malformed ones."""
    suppressions: list[Suppression] = []
    problems: list[Finding] = []
    for comment in comments:
        marker = _MARKER.match(comment.text.strip())
        if not marker:
            continue
        line, column = positions.of(comment.start)
        example = "-- tzurot: ignore TZ001 recreated by the next statement"
        codes_match = _CODES.match(marker.group("rest"))
        if not codes_match:
            problems.append(
                Finding(
                    "TZ008", path, line, column, "suppression names no rule code", f"write e.g. `{example}`"
                )
            )
            continue
        codes = tuple(code.strip().upper() for code in codes_match.group("codes").split(","))
        unknown = [code for code in codes if code not in RULES]
        if unknown:
            problems.append(
                Finding(
                    "TZ008",
                    path,
                    line,
                    column,
                    f"suppression names unknown rule {', '.join(unknown)}",
                    f"known rules: {', '.join(RULES)}",
                )
            )
            continue
        reason = codes_match.group("reason").strip()
        if not reason:
            problems.append(
                Finding(
                    "TZ008",
                    path,
                    line,
                    column,
                    f"suppression of {', '.join(codes)} gives no reason",
                    f"say why it is safe, e.g. `{example}`",
                )
            )
            continue
        suppressions.append(Suppression(line, column, codes, reason))
    return suppressions, problems


def apply(
    findings: list[Finding], suppressions: list[Suppression], statement_start: dict[int, int], path: str
) -> list[Finding]:
    """`findings` minus the suppressed ones, plus TZ009 for suppressions that matched nothing.

    `statement_start` maps a line to the first line of the statement covering it.
    """
    by_line: dict[int, list[Suppression]] = {}
    for suppression in suppressions:
        by_line.setdefault(suppression.line + 1, []).append(suppression)
    kept: list[Finding] = []
    for finding in findings:
        candidates = by_line.get(finding.line, []) + by_line.get(statement_start.get(finding.line, -1), [])
        match = next((s for s in candidates if finding.rule in s.codes), None)
        if match is None or finding.rule == "TZ008":
            kept.append(finding)
        else:
            match.used.add(finding.rule)
    for suppression in suppressions:
        unused = [code for code in suppression.codes if code not in suppression.used]
        if unused:
            kept.append(
                Finding(
                    "TZ009",
                    path,
                    suppression.line,
                    suppression.column,
                    f"suppression of {', '.join(unused)} matches no finding on the next statement",
                    "remove it (or move it to the line right before the statement)",
                )
            )
    return kept
