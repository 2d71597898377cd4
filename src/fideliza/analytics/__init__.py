"""The numeric core of Fideliza: customer analytics on a table of transactions.

Pure Python + NumPy/SciPy/Polars, with no Django import, so that it can be tested and
benchmarked alone and called both by the Django app (through a thin adapter that reads
the transaction columns into a Polars frame) and by the ``fideliza analyze`` command.

The predictive half:

- :mod:`fideliza.analytics.transactions` -- the canonical transaction schema
  (``customer_id``, ``ts``, ``amount`` [, ``margin``, ``product_id``, ``category``])
  and loaders for CSV/Parquet with column-name mapping.
- :mod:`fideliza.analytics.summary` -- per-customer frequency / recency / T / monetary
  value in the "buy 'til you die" convention (as lifetimes'
  ``summary_data_from_transaction_data``) and the calibration/holdout split.
- :mod:`fideliza.analytics.models` -- BG/NBD, Pareto/NBD and Gamma-Gamma estimators
  (scikit-learn conventions) and customer lifetime value.
- :mod:`fideliza.analytics.churn` -- churn risk, bands and plain-language reasons.
- :mod:`fideliza.analytics.pipeline` -- :func:`~fideliza.analytics.pipeline.analyze`,
  the whole per-customer scoring in one call; :mod:`fideliza.analytics.cli` -- the
  ``fideliza analyze`` command.
- :mod:`fideliza.analytics.uplift` -- incremental conversion and revenue of a campaign or
  automation against its random holdout (Newcombe and Welch intervals), and the holdout
  assignment.

Importing this package imports nothing heavy and changes no global state; import the
submodules you need.
"""
