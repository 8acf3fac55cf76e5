"""A mergeable quantile sketch for latencies (the idea of DDSketch): a value v > 1 ms falls in bucket
ceil(ln v / ln γ) with γ = 1.02, so every bucket's values are within 2 % of its representative value;
0-1 ms falls in bucket 0. A sketch is {bucket: count}; two sketches merge by adding counts, so minute
roll-ups add up to hours, days or any slice without going back to the events."""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

GAMMA = 1.02
_LN_GAMMA = math.log(GAMMA)


def bucket_of(ms: float) -> int:
    return 0 if ms <= 1 else math.ceil(math.log(ms) / _LN_GAMMA)


def bucket_column(ms: Column) -> Column:
    return F.when(ms <= 1, F.lit(0)).otherwise(F.ceil(F.log(ms) / F.lit(_LN_GAMMA))).cast("int")


def value_of(bucket: int) -> float:
    """The representative value of a bucket: the point within 2 % of every value in it."""
    if bucket <= 0:
        return 0.0 if bucket < 0 else 1.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


def merge(*sketches: dict[int, int] | None) -> dict[int, int]:
    merged: dict[int, int] = {}
    for sketch in sketches:
        for bucket, count in (sketch or {}).items():
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def quantile(sketch: dict[int, int] | None, q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) with rank q·(n-1), as DDSketch defines it; None for an empty sketch."""
    total = sum((sketch or {}).values())
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for bucket in sorted(sketch):
        seen += sketch[bucket]
        if seen > rank:
            return value_of(bucket)
    return value_of(max(sketch))


def count(sketch: dict[int, int] | None) -> int:
    return sum((sketch or {}).values())
