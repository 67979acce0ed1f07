"""Trivial statistics for the report; the real ones are `hvbench summarize`'s.

Medians and intervals of repetitions and slowdowns come from the C engine
(src/summarize.c, the one `hvbench compare` uses), so a report and compare
cannot disagree.  What stays here is the plain median of counter and exit
rows, which need no interval.
"""

DEFAULT_SEED = 1


def median(values):
    """Median of a non-empty sequence (mean of the two middle values if even)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2
