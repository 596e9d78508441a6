"""Deterministic synthetic embeddings, and a safe text literal for one vector.

`generate()` returns the same data for the same arguments on every machine
(numpy's PCG64 with a fixed seed): points around a few cluster centres, as
real embeddings are, unit-normalised when asked (cosine), with a share of
NULL embeddings and a few exact duplicates (ties). `Dataset.queries()` draws
query vectors from the same clusters, so recall is measured where the data is.
`vector_literal()` turns numbers into pgvector's `[1,2,3]` text form and
refuses NaN, infinities, booleans and anything that is not a real number.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_SEED = 20250101
DEFAULT_CLUSTERS = 10


@dataclass(frozen=True)
class Dataset:
    """`vectors[i]` is row i's embedding; rows where `null_mask[i]` is true have none (NULL)."""

    vectors: np.ndarray  # float32, shape (rows, dim)
    null_mask: np.ndarray  # bool, shape (rows,)
    labels: np.ndarray  # cluster of each row
    centers: np.ndarray  # float32, shape (clusters, dim)
    noise: float  # standard deviation of the noise per coordinate
    normalize: bool
    seed: int

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def embeddings(self) -> list[np.ndarray | None]:
        """One entry per row: its vector, or None for a NULL embedding."""
        return [None if null else vec for vec, null in zip(self.vectors, self.null_mask, strict=True)]

    def queries(self, count: int, *, seed: int | None = None) -> np.ndarray:
        """`count` query vectors near the data's clusters (float32, deterministic)."""
        return _queries(self.centers, self.noise, count, self.seed if seed is None else seed, self.normalize)


def _queries(centers: np.ndarray, noise: float, count: int, seed: int, normalize: bool) -> np.ndarray:
    rng = np.random.default_rng([seed, 1])
    picks = rng.integers(0, len(centers), size=count)
    points = centers[picks] + rng.normal(0.0, noise, size=(count, centers.shape[1]))
    return _finish(points, normalize)


def _cluster_count(rows: int, clusters: int | None) -> int:
    # Fewer topics than a typical ivfflat `lists`, so clusters straddle lists as real data does:
    # one probe then misses neighbours (recall ~0.4-0.5) and sqrt(lists) probes find them.
    return clusters if clusters is not None else max(1, min(DEFAULT_CLUSTERS, rows // 50))


def _centers(rng: np.random.Generator, clusters: int, dim: int) -> np.ndarray:
    centers = rng.normal(0.0, 1.0, size=(clusters, dim))
    return centers / np.linalg.norm(centers, axis=1, keepdims=True)


def query_vectors(
    rows: int,
    dim: int,
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    clusters: int | None = None,
    spread: float = 1.0,
    normalize: bool = True,
) -> np.ndarray:
    """`generate(rows, dim, ...).queries(count)` without generating the rows (same values)."""
    centers = _centers(np.random.default_rng([seed, 0]), _cluster_count(rows, clusters), dim)
    return _queries(_finish(centers, normalize), spread / math.sqrt(dim), count, seed, normalize)


def _finish(points: np.ndarray, normalize: bool) -> np.ndarray:
    """`points` as float32, each row scaled to length 1 when `normalize` (zero rows stay zero)."""
    points = np.asarray(points, dtype=np.float32)
    if normalize:
        norms = np.sqrt(np.einsum("ij,ij->i", points, points, dtype=np.float64))[:, None]
        norms[norms == 0] = 1.0
        points = (points / norms).astype(np.float32)
    return points


def generate(
    rows: int,
    dim: int,
    *,
    seed: int = DEFAULT_SEED,
    clusters: int | None = None,
    spread: float = 1.0,
    normalize: bool = True,
    null_fraction: float = 0.02,
    duplicate_fraction: float = 0.01,
) -> Dataset:
    """`rows` clustered vectors of `dim` dimensions, the same for the same arguments.

    `spread` is the noise around a centre relative to the centre's length, so
    clusters overlap as real embeddings do. Raises ValueError on impossible sizes.
    """
    if rows < 1 or dim < 1:
        raise ValueError(f"rows and dim must be positive, got rows={rows}, dim={dim}")
    if not (0.0 <= null_fraction < 1.0 and 0.0 <= duplicate_fraction < 1.0):
        raise ValueError("null_fraction and duplicate_fraction must be in [0, 1)")
    clusters = _cluster_count(rows, clusters)
    rng = np.random.default_rng([seed, 0])
    centers = _centers(rng, clusters, dim)
    labels = rng.integers(0, clusters, size=rows)
    # Noise per coordinate so that the noise vector's length is about `spread`.
    noise = rng.standard_normal(size=(rows, dim), dtype=np.float32)
    noise *= np.float32(spread / math.sqrt(dim))
    noise += centers[labels].astype(np.float32)
    vectors = _finish(noise, normalize)
    duplicates = int(rows * duplicate_fraction)
    if duplicates and rows > 1:
        # Exact copies of other rows: ties that a stable, tie-aware check must handle.
        targets = rng.choice(rows, size=duplicates, replace=False)
        sources = rng.integers(0, rows, size=duplicates)
        vectors[targets] = vectors[sources]
        labels[targets] = labels[sources]
    null_mask = rng.random(rows) < null_fraction
    return Dataset(
        vectors=vectors,
        null_mask=null_mask,
        labels=labels,
        centers=_finish(centers, normalize),
        noise=spread / math.sqrt(dim),
        normalize=normalize,
        seed=seed,
    )


def vector_literal(values: Iterable[Any]) -> str:
    """pgvector's text form `[1.0,2.5]` of a sequence of real numbers.

    Raises ValueError naming the position of a NaN, an infinity, a boolean or a
    non-numeric item, and for an empty or nested input.
    """
    if isinstance(values, (str, bytes)):
        raise ValueError("a vector must be a sequence of numbers, not a string")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"a vector must be one-dimensional, got shape {values.shape}")
    parts = []
    for i, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"vector item {i} is not a real number: {value!r}")
        number = float(value)
        if math.isnan(number):
            raise ValueError(f"vector item {i} is NaN; pgvector rejects NaN")
        if math.isinf(number):
            raise ValueError(f"vector item {i} is infinite; pgvector rejects infinite values")
        parts.append(repr(number))
    if not parts:
        raise ValueError("a vector needs at least one dimension")
    return "[" + ",".join(parts) + "]"


@dataclass(frozen=True)
class VectorFactory:
    """What the `tzurot_vectors` fixture gives a test: the guard's generator and the safe literal."""

    seed: int = DEFAULT_SEED

    def dataset(self, rows: int, dim: int, **options: Any) -> Dataset:
        """`generate(rows, dim, seed=self.seed, **options)`: the same data the search guard loads."""
        return generate(rows, dim, seed=options.pop("seed", self.seed), **options)

    def queries(self, count: int, dim: int, **options: Any) -> np.ndarray:
        """`count` query vectors near the clusters of `dataset(rows, dim)` (rows only sets the clusters)."""
        rows = options.pop("rows", 1000)
        return self.dataset(rows, dim, **options).queries(count)

    @staticmethod
    def literal(values: Iterable[Any]) -> str:
        """`vector_literal(values)`: `[1.0,2.0]`, or ValueError for NaN, infinity or non-numbers."""
        return vector_literal(values)
