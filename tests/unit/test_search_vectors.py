"""The deterministic data generator and the safe vector literal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_tzurot.search.vectors import VectorFactory, generate, vector_literal


def test_same_arguments_give_the_same_data() -> None:
    a, b = generate(500, 16, seed=3), generate(500, 16, seed=3)
    assert np.array_equal(a.vectors, b.vectors)
    assert np.array_equal(a.null_mask, b.null_mask)
    assert np.array_equal(a.queries(5), b.queries(5))
    assert not np.array_equal(a.vectors, generate(500, 16, seed=4).vectors)


def test_shape_normalisation_nulls_and_ties() -> None:
    data = generate(2000, 32, null_fraction=0.05, duplicate_fraction=0.02)
    assert data.vectors.shape == (2000, 32) and data.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(data.vectors, axis=1), 1.0, atol=1e-5)
    assert 40 < data.null_mask.sum() < 160
    assert len(np.unique(data.vectors, axis=0)) < 2000  # exact duplicates: ties
    embeddings = data.embeddings()
    assert sum(e is None for e in embeddings) == data.null_mask.sum()
    assert not generate(10, 4, normalize=False, null_fraction=0.0).null_mask.any()


def test_data_is_clustered() -> None:
    data = generate(2000, 32, clusters=8)
    own = np.einsum("ij,ij->i", data.vectors, data.centers[data.labels])
    other = data.vectors @ data.centers.T
    assert float(own.mean()) > float(other.mean()) + 0.3


def test_queries_lie_near_the_data() -> None:
    data = generate(2000, 32)
    queries = data.queries(20)
    assert queries.shape == (20, 32)
    assert float((queries @ data.vectors.T).max(axis=1).min()) > 0.5


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="rows and dim must be positive"):
        generate(0, 8)


def test_literal_round_trips_numbers() -> None:
    assert vector_literal([1, 2.5, -0.125]) == "[1.0,2.5,-0.125]"
    assert vector_literal(np.array([0.5, 1], dtype=np.float32)) == "[0.5,1.0]"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.0, math.nan], "item 1 is NaN"),
        ([math.inf], "item 0 is infinite"),
        ([-math.inf], "item 0 is infinite"),
        (np.array([1.0, np.nan]), "item 1 is NaN"),
        ([1, "2"], "item 1 is not a real number"),
        ([True, 1.0], "item 0 is not a real number"),
        ([1, None], "item 1 is not a real number"),
        ([[1.0], [2.0]], "item 0 is not a real number"),
        (np.zeros((2, 2)), "one-dimensional"),
        ([], "at least one dimension"),
        ("[1,2]", "not a string"),
    ],
)
def test_literal_rejects_what_pgvector_would_reject_or_misread(values: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vector_literal(values)  # type: ignore[arg-type]


def test_factory_is_the_guard_generator() -> None:
    factory = VectorFactory()
    assert np.array_equal(factory.dataset(300, 8).vectors, generate(300, 8).vectors)
    assert factory.queries(3, 8).shape == (3, 8)
    assert factory.literal([1]) == "[1.0]"


def test_query_vectors_without_the_rows_are_the_datasets() -> None:
    from pytest_tzurot.search.vectors import query_vectors

    data = generate(3000, 24, normalize=False)
    assert np.array_equal(query_vectors(3000, 24, 7, normalize=False), data.queries(7))
