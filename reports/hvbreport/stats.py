"""Small, dependency-free statistics for the report.

The statistical unit is the repetition (FORMAT.md): inner batches of one
repetition are correlated, so every interval here resamples per-repetition
values only.  The bootstrap is seeded per cell (from the cell's name) so a
report is reproducible and adding a runner does not move other intervals.
"""

import random
import zlib

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
DEFAULT_SEED = 1


def median(values):
    """Median of a non-empty sequence (mean of the two middle values if even)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2


def quantile(sorted_xs, q):
    """Linear-interpolation quantile (type 7, as R and numpy default) of sorted data."""
    if not sorted_xs:
        raise ValueError("quantile of no values")
    pos = (len(sorted_xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def cell_rng(seed, *key):
    """A Random seeded from the global seed and the cell's identity."""
    text = "\x1f".join(str(k) for k in key)
    return random.Random((seed << 32) ^ zlib.crc32(text.encode("utf-8")))


def bootstrap_ratio_ci(num, den, rng, resamples=BOOTSTRAP_RESAMPLES, confidence=CONFIDENCE):
    """Percentile bootstrap CI of median(num)/median(den).

    Each group is resampled independently (they are separate runs).  Returns
    (lo, hi), or None when either side has fewer than 2 repetitions, where a
    resampling interval would only pretend to know the spread.
    """
    if len(num) < 2 or len(den) < 2:
        return None
    ratios = []
    for _ in range(resamples):
        m_den = median(rng.choices(den, k=len(den)))
        if m_den == 0:
            continue
        ratios.append(median(rng.choices(num, k=len(num))) / m_den)
    if len(ratios) < resamples // 2:
        return None
    ratios.sort()
    alpha = (1 - confidence) / 2
    return quantile(ratios, alpha), quantile(ratios, 1 - alpha)


def bootstrap_median_ci(values, rng, resamples=BOOTSTRAP_RESAMPLES, confidence=CONFIDENCE):
    """Percentile bootstrap CI of the median of per-repetition values (None if n < 2)."""
    if len(values) < 2:
        return None
    meds = sorted(median(rng.choices(values, k=len(values))) for _ in range(resamples))
    alpha = (1 - confidence) / 2
    return quantile(meds, alpha), quantile(meds, 1 - alpha)
