"""Every case of the shared protected-index table through the static lint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pytest_tzurot import config
from pytest_tzurot.sql.lint import lint_text

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "protected_index_cases", REPO / "tests/cases/protected_index_cases.py"
)
assert _spec is not None and _spec.loader is not None
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
INDEXES = config.load(REPO / "ci.yml").protected_indexes


def test_the_table_covers_every_rule_and_verdict():
    assert len(cases.CASES) >= 25
    covered = set().union(*(case.rules for case in cases.CASES))
    assert {
        "TZ000",
        "TZ001",
        "TZ002",
        "TZ003",
        "TZ004",
        "TZ005",
        "TZ008",
        "TZ010",
        "TZ011",
        "TZ012",
    } <= covered
    assert {case.live for case in cases.CASES} == {"pass", "fail", "error"}
    assert len({case.id for case in cases.CASES}) == len(cases.CASES)


@pytest.mark.parametrize("case", cases.CASES, ids=[case.id for case in cases.CASES])
def test_case_rules(case):
    findings = lint_text(case.sql, "migration.sql", INDEXES)
    assert {f.rule for f in findings} == case.rules, [
        f"{f.rule} {f.line}:{f.column} {f.message}" for f in findings
    ]
    for finding in findings:
        assert finding.line >= 1 and finding.column >= 1
        assert finding.message
