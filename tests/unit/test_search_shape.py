"""search_shape rules: each broken rule is reported with the fix, a correct query has no problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tzurot.search import query
from pytest_tzurot.search.shape import analyse
from pytest_tzurot.search.target import IndexTarget

COSINE = IndexTarget(
    "idx_memories_embedding", "memories", "embedding", "ivfflat", "vector_cosine_ops", {"lists": "50"}
)
HNSW = IndexTarget("idx_hnsw", "memories", "embedding", "hnsw", "vector_cosine_ops")
IP = IndexTarget("idx_ip", "memories", "embedding", "hnsw", "vector_ip_ops")

GOOD = (
    "SELECT id, embedding <=> %(embedding)s AS distance, 1 - (embedding <=> %(embedding)s) AS similarity "
    "FROM memories WHERE personality_id = %(personality_id)s ORDER BY embedding <=> %(embedding)s LIMIT 10"
)


def shape_of(tmp_path: Path, text: str, target: IndexTarget = COSINE, k: int = 10, **kw):  # type: ignore[no-untyped-def]
    path = tmp_path / "q.sql"
    path.write_text(text, encoding="utf-8")
    return analyse(query.load(path), target, k=k, **kw)


def test_correct_cosine_query_has_no_problems(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, GOOD, params={"personality_id": "x"})
    assert shape.problems == []
    assert shape.operator == "<=>"
    assert shape.vector_param == "embedding"
    assert shape.limit == 10
    assert shape.filters == {"personality_id": "personality_id"}
    assert [(c.name, c.form) for c in shape.labelled] == [
        ("distance", "distance"),
        ("similarity", "one_minus"),
    ]


def test_documentation_pattern_with_l2_against_cosine_index_says_use_cosine_operator(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path,
        "SELECT id, 1 - (embedding <-> $1) AS similarity FROM memories ORDER BY embedding <-> $1 LIMIT 5",
        k=5,
    )
    assert len(shape.problems) == 2
    assert "ORDER BY uses `<->`" in shape.problems[0]
    assert "use `<=>` to match vector_cosine_ops" in shape.problems[0]
    assert "not a cosine similarity" in shape.problems[1]
    assert "1 - (embedding <=> $1)" in shape.problems[1]
    assert shape.problems[0].startswith("q.sql:1: ")


@pytest.mark.parametrize("order", ["similarity DESC", "1 - (embedding <=> :embedding) DESC", "2 DESC"])
def test_ordering_by_a_similarity_fails_with_the_bare_distance_as_fix(tmp_path: Path, order: str) -> None:
    shape = shape_of(
        tmp_path,
        f"SELECT id, 1 - (embedding <=> :embedding) AS similarity FROM memories ORDER BY {order} LIMIT 10",
    )
    assert len(shape.problems) == 1
    assert "sorts by an expression of the distance" in shape.problems[0]
    assert "ORDER BY embedding <=> :embedding" in shape.problems[0]


def test_descending_distance_fails(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, "SELECT id FROM memories ORDER BY embedding <=> :embedding DESC LIMIT 10")
    assert shape.problems and "farthest rows first" in shape.problems[0]


def test_alias_of_the_distance_is_accepted(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, "SELECT id, embedding <=> :q AS d FROM memories ORDER BY d LIMIT 10")
    assert shape.problems == []
    assert shape.vector_param == "q"


def test_missing_limit_and_missing_order(tmp_path: Path) -> None:
    no_limit = shape_of(tmp_path, "SELECT id FROM memories ORDER BY embedding <=> :embedding")
    assert any("no LIMIT: add LIMIT 10" in p for p in no_limit.problems)
    no_order = shape_of(tmp_path, "SELECT id FROM memories WHERE embedding IS NOT NULL LIMIT 10")
    assert any("no ORDER BY" in p and "ORDER BY embedding <=>" in p for p in no_order.problems)


def test_limit_must_equal_k(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, "SELECT id FROM memories ORDER BY embedding <=> :embedding LIMIT 5", k=10)
    assert any("LIMIT 5" in p and "k = 10" in p for p in shape.problems)


def test_ordering_by_another_column_fails(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, "SELECT id FROM memories ORDER BY other <=> :embedding LIMIT 10")
    assert any("orders by column other" in p for p in shape.problems)


def test_hnsw_limit_above_default_ef_search_fails(tmp_path: Path) -> None:
    text = "SELECT id FROM memories ORDER BY embedding <=> :embedding LIMIT 100"
    shape = shape_of(tmp_path, text, target=HNSW, k=100)
    assert len(shape.problems) == 1
    assert "LIMIT 100 > hnsw.ef_search (40)" in shape.problems[0]
    assert "hnsw.ef_search: 100" in shape.problems[0]
    assert shape_of(tmp_path, text, target=HNSW, k=100, settings={"hnsw.ef_search": 100}).problems == []
    iterative = shape_of(tmp_path, text, target=HNSW, k=100, settings={"hnsw.iterative_scan": "strict_order"})
    assert iterative.problems == []


def test_inner_product_similarity_is_the_negated_distance(tmp_path: Path) -> None:
    good = shape_of(
        tmp_path,
        "SELECT id, (embedding <#> :e) * -1 AS similarity FROM memories ORDER BY embedding <#> :e LIMIT 10",
        target=IP,
    )
    assert good.problems == []
    bad = shape_of(
        tmp_path,
        "SELECT id, 1 - (embedding <#> :e) AS similarity FROM memories ORDER BY embedding <#> :e LIMIT 10",
        target=IP,
    )
    assert any("(embedding <#> :e) * -1" in p for p in bad.problems)


def test_parameters_without_values_are_named(tmp_path: Path) -> None:
    shape = shape_of(tmp_path, GOOD)
    assert any(
        "%(personality_id)s has no value" in p and "personality_id: <value>" in p for p in shape.problems
    )
    dollar = shape_of(
        tmp_path, "SELECT id FROM memories WHERE p = $2 ORDER BY embedding <=> $1 LIMIT 10", params={"$2": 1}
    )
    assert dollar.problems == []
    assert dollar.vector_param == "1"


def test_unparsable_query_and_non_select(tmp_path: Path) -> None:
    assert "does not parse" in shape_of(tmp_path, "SELECT id FROM WHERE ORDER LIMIT").problems[0]
    assert "must be one SELECT" in shape_of(tmp_path, "DELETE FROM memories").problems[0]


def test_bad_setting_name(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path,
        "SELECT id FROM memories ORDER BY embedding <=> :e LIMIT 10",
        settings={"ivfflat.probes; DROP TABLE x": 1},
    )
    assert any("is not a PostgreSQL setting name" in p for p in shape.problems)


def test_a_distance_labelled_similarity_fails(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path, "SELECT id, embedding <=> :e AS similarity FROM memories ORDER BY embedding <=> :e LIMIT 10"
    )
    assert any("not a similarity" in p and "1 - (embedding <=> :e)" in p for p in shape.problems)


def test_non_integer_limit_or_ef_search_values_are_named(tmp_path: Path) -> None:
    limit = shape_of(
        tmp_path, "SELECT id FROM memories ORDER BY embedding <=> :e LIMIT :k", params={"k": "ten"}
    )
    assert any("params: k = 'ten' is the LIMIT; give an integer" in p for p in limit.problems)
    ef = shape_of(
        tmp_path,
        "SELECT id FROM memories ORDER BY embedding <=> :e LIMIT 10",
        target=HNSW,
        settings={"hnsw.ef_search": "lots"},
    )
    assert any("hnsw.ef_search = 'lots': give an integer" in p for p in ef.problems)
