"""What the data checks guarantee on a lazy Dataset (DuckDB over files, or Spark), and the two
constants behind those guarantees.

``profile``, ``drift`` and ``representation`` never ask where a Dataset's rows live: they ask the
Dataset for aggregates (:meth:`raikit.Dataset.aggregate`), value-ordered histogram pieces
(:meth:`raikit.Dataset.histogram`) and quantiles (:meth:`raikit.Dataset.quantiles`). In memory these
are computed with numpy and pandas; on a lazy Dataset each is one ``GROUP BY GROUPING SETS`` query
(one grouping set per family of groups: everyone, each sensitive attribute, their intersection)
written through the one SQL dialect of :mod:`raikit._sql`, so no row reaches pandas.

What is exact and what is not:

* counts, missing values, distinct counts, means, variances, category counts, base rates, the
  chi-square / Jensen-Shannon / PSI / L-infinity drift statistics: exact everywhere (the same
  numbers as in memory up to floating-point summation order, ~1e-15 relative).
* quantiles (profile), the KS statistic and the Wasserstein distance (drift): exact in memory, where
  a histogram piece is one distinct value. On lazy data they come from ``QUANTILE_BINS``
  equal-width bins per column and group that record the smallest and largest value in each bin, so
  the first and last value of a bin are exact and any other order statistic lies in its bin's
  observed range. The reported bounds (``meta["quantile_error"]``, ``meta["ks_error_bound"]``,
  ``meta["wasserstein_error_bound"]``) are guarantees, not probabilities; a column with one distinct
  value per bin (ages, counts) has bound 0.
* distinct counts on lazy data: exact, except for numeric columns with more than one value per
  histogram bin in tables of more than ``EXACT_DISTINCT_ROWS`` rows, whose overall count is a
  HyperLogLog estimate (listed in ``meta["approximate_distinct"]``; per group NaN).
* associations and proxies need rows: they run on a uniform sample of ``association_sample`` rows
  drawn where the data lives (all rows when the table is no larger).
"""

from __future__ import annotations

__all__ = ["EXACT_DISTINCT_ROWS", "QUANTILE_BINS"]

QUANTILE_BINS = 2048  # histogram bins per numeric column for quantiles, KS and Wasserstein
# Up to this many rows the distinct count of a many-valued numeric column is exact; above, DuckDB's /
# Spark's HyperLogLog ``approx_count_distinct`` (relative standard error about 2 %) saves a hash set
# of every value (the costliest aggregate of a profile at scale).
EXACT_DISTINCT_ROWS = 2_000_000
