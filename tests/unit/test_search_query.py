"""The search query file: one SELECT, named parameters in the styles applications use."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tzurot.errors import ConfigError
from pytest_tzurot.search import query


def load(tmp_path: Path, text: str) -> query.QueryText:
    path = tmp_path / "q.sql"
    path.write_text(text, encoding="utf-8")
    return query.load(path)


@pytest.mark.parametrize(
    ("text", "style", "names"),
    [
        (
            "SELECT id FROM m WHERE p = :pid ORDER BY e <=> :embedding::vector LIMIT 5",
            "colon",
            ("pid", "embedding"),
        ),
        (
            "SELECT id FROM m WHERE p = %(pid)s ORDER BY e <=> %(embedding)s LIMIT 5",
            "pyformat",
            ("pid", "embedding"),
        ),
        ("SELECT id FROM m WHERE p = $2 ORDER BY e <=> $1::vector LIMIT $3", "dollar", ("2", "1", "3")),
        (
            "SELECT id FROM m WHERE p = ${personalityId} ORDER BY e <=> ${vector}::vector LIMIT 5",
            "template",
            ("personalityId", "vector"),
        ),
    ],
)
def test_each_parameter_style_is_read(tmp_path: Path, text: str, style: str, names: tuple[str, ...]) -> None:
    q = load(tmp_path, text + ";\n")
    assert q.style == style
    assert q.names == names


def test_text_that_only_looks_like_a_parameter_is_left_alone(tmp_path: Path) -> None:
    q = load(
        tmp_path, "-- :not_a_param $9\nSELECT ':x', \"$1\", $$ :y $$, a::text /* :z */ FROM t WHERE b = :real"
    )
    assert q.names == ("real",)
    assert q.line == 2


def test_psycopg_form_doubles_literal_percent_and_binds_by_name(tmp_path: Path) -> None:
    q = load(tmp_path, "SELECT id FROM m WHERE c LIKE '50%' AND p = :pid ORDER BY e <=> :emb LIMIT 5")
    assert q.psycopg_sql() == (
        "SELECT id FROM m WHERE c LIKE '50%%' AND p = %(tzp_0)s ORDER BY e <=> %(tzp_1)s LIMIT 5"
    )
    assert q.bind({"pid": 7, "emb": [1.0]}) == {"tzp_0": 7, "tzp_1": [1.0]}
    assert q.sqlglot_sql().endswith("ORDER BY e <=> :tzp_1 LIMIT 5")


def test_repeated_parameter_is_one_name(tmp_path: Path) -> None:
    q = load(tmp_path, "SELECT 1 - (e <=> $1) AS s FROM m ORDER BY e <=> $1 LIMIT 3")
    assert q.names == ("1",)
    assert q.label("1") == "$1"
    assert query.param_key("$1") == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1 FROM m WHERE a = :a AND b = $1", "mixes parameter styles"),
        ("SELECT 1 FROM m WHERE a = %s", "positional %s placeholders have no names"),
        ("SELECT 1; SELECT 2", "holds 2 statements"),
        ("-- nothing\n", "is empty"),
        ("SELECT 'open", "unterminated string literal"),
    ],
)
def test_bad_query_files_are_one_line_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, text)
    assert "\n" not in str(info.value)
    assert "q.sql" in str(info.value)
