"""Timing shared by the benchmarks in tools/."""
import timeit


def best_time(fn, repeats):
    """Least wall time of fn() over `repeats` calls after a warm-up, in seconds
    (the run least disturbed by other load)."""
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeats))
