"""Exact percentiles from a bucket histogram plus one look-up inside the bucket.

The triggers of migration 0007 count durations per bucket (report_histograms). A percentile
of n values is the value at a known rank (nearest rank; the median averages the two middle
ranks, as crm.reports.sql.percentiles does): the histogram says which bucket holds that rank
and how many values lie below it, and one indexed query reads the value at the remaining
offset inside that bucket. The answer is exactly the one a sort of every value would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction

_MINUTE, _HOUR, _DAY = 60_000, 3_600_000, 86_400_000
# Upper bounds (inclusive, milliseconds) of the buckets: bucket i holds (BOUNDS_MS[i-1],
# BOUNDS_MS[i]], the last bucket everything above. The same list as migration 0007's.
BOUNDS_MS = (
    0,
    5 * _MINUTE,
    15 * _MINUTE,
    30 * _MINUTE,
    45 * _MINUTE,
    _HOUR,
    90 * _MINUTE,
    2 * _HOUR,
    150 * _MINUTE,
    3 * _HOUR,
    4 * _HOUR,
    5 * _HOUR,
    6 * _HOUR,
    7 * _HOUR,
    8 * _HOUR,
    9 * _HOUR,
    10 * _HOUR,
    12 * _HOUR,
    16 * _HOUR,
    _DAY,
    36 * _HOUR,
    2 * _DAY,
    3 * _DAY,
    4 * _DAY,
    5 * _DAY,
    6 * _DAY,
    7 * _DAY,
    8 * _DAY,
    9 * _DAY,
    10 * _DAY,
    12 * _DAY,
    14 * _DAY,
    17 * _DAY,
    21 * _DAY,
    25 * _DAY,
    30 * _DAY,
    35 * _DAY,
    40 * _DAY,
    45 * _DAY,
    52 * _DAY,
    60 * _DAY,
    75 * _DAY,
    90 * _DAY,
    120 * _DAY,
    180 * _DAY,
    365 * _DAY,
)
LAST_BUCKET = len(BOUNDS_MS)


def bucket_of(value_ms: int) -> int:
    """The bucket a value falls in (as the triggers' CASE computes it)."""
    for index, bound in enumerate(BOUNDS_MS):
        if value_ms <= bound:
            return index
    return LAST_BUCKET


def bucket_range(bucket: int) -> tuple[int | None, int | None]:
    """(low exclusive, high inclusive) of a bucket; None is open."""
    low = BOUNDS_MS[bucket - 1] if bucket > 0 else None
    high = BOUNDS_MS[bucket] if bucket < LAST_BUCKET else None
    return low, high


def ranks(n: int, fractions: Mapping[str, float]) -> dict[str, tuple[int, ...]]:
    """The 1-based ranks each percentile reads: the median two middle ones, others ceil(p·n)."""
    out = {}
    for name, fraction in fractions.items():
        if fraction == 0.5:
            out[name] = ((n + 1) // 2, (n + 2) // 2)
        else:
            share = Fraction(fraction).limit_denominator(1000)
            out[name] = ((n * share.numerator + share.denominator - 1) // share.denominator,)
    return out


def locate(counts: Mapping[int, int], rank: int) -> tuple[int, int]:
    """(bucket, 0-based offset inside it) of the value at `rank` (1-based)."""
    below = 0
    for bucket in sorted(counts):
        if below + counts[bucket] >= rank:
            return bucket, rank - below - 1
        below += counts[bucket]
    raise ValueError(f"rank {rank} beyond {below} values")


def percentiles(
    counts: Mapping[int, int],
    fractions: Mapping[str, float],
    value_at: Callable[[int, int], float],
    n: int | None = None,
) -> dict[str, float | None]:
    """Each percentile of the n values counted in `counts` (bucket → n).

    `value_at(bucket, offset)` reads the value at an offset inside a bucket (in order).
    `counts` may leave out buckets above the highest rank needed when `n` is given.
    """
    n = sum(counts.values()) if n is None else n
    if n <= 0:
        return dict.fromkeys(fractions)
    seen: dict[int, float] = {}

    def at(rank: int) -> float:
        if rank not in seen:
            seen[rank] = value_at(*locate(counts, rank))
        return seen[rank]

    out = {}
    for name, wanted in ranks(n, fractions).items():
        values = [at(rank) for rank in wanted]
        out[name] = sum(values) / len(values)
    return out


def total(rows: Iterable[tuple[int, int]]) -> dict[int, int]:
    """bucket → n from (bucket, n) rows, leaving out empty buckets."""
    out: dict[int, int] = {}
    for bucket, n in rows:
        if n:
            out[bucket] = out.get(bucket, 0) + int(n)
    return out
