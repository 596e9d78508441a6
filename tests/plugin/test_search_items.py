"""The search_* guard items as a user runs them: `pytest -p pytest_tzurot ci.yml` on a small project."""

from __future__ import annotations

import pytest

# pytester runs in-process and forgets modules first imported by an inner run; numpy's C extension
# cannot be loaded twice, so import it (and the generator) here, before any inner run.
import pytest_tzurot.search.vectors  # noqa: F401

MIGRATION = """\
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE memories (id bigserial PRIMARY KEY, personality_id integer NOT NULL, content text NOT NULL,
                       embedding vector(32));
CREATE INDEX idx_memories_embedding ON memories USING ivfflat (embedding vector_cosine_ops) WITH (lists = 20);
CREATE TABLE notes (id bigserial PRIMARY KEY, embedding vector(32));
CREATE INDEX idx_notes_hnsw ON notes USING hnsw (embedding vector_cosine_ops);
"""
QUERIES = {
    # Copied from a blog post: L2 distance against a cosine index, and 1 - L2 labelled a similarity.
    "copied.sql": (
        "SELECT id, 1 - (embedding <-> $1) AS similarity FROM memories ORDER BY embedding <-> $1 LIMIT 5"
    ),
    "good.sql": (
        "SELECT id, content, 1 - (embedding <=> %(embedding)s) AS similarity FROM memories\n"
        "WHERE personality_id = %(personality_id)s\nORDER BY embedding <=> %(embedding)s LIMIT 5;\n"
    ),
    "many.sql": "SELECT id FROM notes ORDER BY embedding <=> :embedding LIMIT 100",
}
MANIFEST = """\
migrations: {dir: migrations}
search:
  - {name: copied, query: copied.sql, index: idx_memories_embedding, k: 5, rows: 2000,
     settings: {ivfflat.probes: 5}}
  - {name: good, query: good.sql, index: idx_memories_embedding, k: 5, rows: 2000,
     settings: {ivfflat.probes: 5}, params: {personality_id: 42}}
  - {name: many, query: many.sql, index: idx_notes_hnsw, k: 100, rows: 2000}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    folder = pytester.path / "migrations" / "20250101000000_init"
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(MIGRATION)
    for name, text in QUERIES.items():
        (pytester.path / name).write_text(text)
    (pytester.path / "ci.yml").write_text(MANIFEST)
    return pytester


def test_search_items_report_what_to_fix(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "-p",
        "pytest_tzurot",
        "ci.yml",
        "-p",
        "no:cacheprovider",
        "-v",
        "-k",
        "search and not search_plan[many] and not search_results[many]",
    )
    result.stdout.fnmatch_lines_random(
        [
            "*search_shape[[]copied[]] FAILED*",
            "*search_plan[[]copied[]] FAILED*",
            "*search_shape[[]good[]] PASSED*",
            "*search_plan[[]good[]] PASSED*",
            "*search_results[[]good[]] PASSED*",
            "*search_shape[[]many[]] FAILED*",
        ]
    )
    out = result.stdout.str()
    # Shape and plan both say which operator to use; the plan shows the sort over every row.
    assert out.count("use `<=>` to match vector_cosine_ops") >= 3
    assert "no Index Scan using idx_memories_embedding" in out
    assert "LIMIT 100 > hnsw.ef_search (40)" in out
    assert "Traceback" not in out
    # The run summary carries the measured figures.
    result.stdout.fnmatch_lines(["search:", "*good: recall@5 *ms indexed vs *ms exact*"])
    result.assert_outcomes(passed=4, failed=3)


def test_tzurot_vectors_fixture_in_a_user_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import math
        import pytest

        def test_generator_and_literal(tzurot_vectors):
            data = tzurot_vectors.dataset(200, 8)
            assert data.vectors.shape == (200, 8)
            assert (tzurot_vectors.dataset(200, 8).vectors == data.vectors).all()
            assert tzurot_vectors.literal([1, 2]) == "[1.0,2.0]"
            with pytest.raises(ValueError, match="NaN"):
                tzurot_vectors.literal([math.nan])
    """
    )
    result = pytester.runpytest("-p", "pytest_tzurot", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_seeding_failure_fails_plan_and_results_with_the_same_message(pytester: pytest.Pytester) -> None:
    # lists = 20 over 15 rows: the rebuild after loading reports "little data"; the plan item seeds once
    # and the results item reports the recorded failure instead of seeding again.
    folder = pytester.path / "migrations" / "20250101000000_init"
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(MIGRATION)
    (pytester.path / "good.sql").write_text(QUERIES["good.sql"])
    (pytester.path / "ci.yml").write_text(
        "migrations: {dir: migrations}\nsearch:\n"
        "  - {name: tiny, query: good.sql, index: idx_memories_embedding, k: 5, rows: 15,\n"
        "     params: {personality_id: 42}}\n"
    )
    result = pytester.runpytest("-p", "pytest_tzurot", "ci.yml", "-p", "no:cacheprovider", "-v", "-rN")
    result.stdout.fnmatch_lines_random(
        [
            "*search_shape[[]tiny[]] PASSED*",
            "*search_plan[[]tiny[]] FAILED*",
            "*search_results[[]tiny[]] FAILED*",
        ]
    )
    assert result.stdout.str().count('PostgreSQL reports "ivfflat index created with little data') == 2
    assert "Traceback" not in result.stdout.str()
