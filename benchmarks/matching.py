"""Duplicate matching at scale: blocking + scoring over N labelled cards.

Prints the time of each stage, peak memory (RSS) and precision/recall against the labels.
Usage: .venv/bin/python benchmarks/matching.py [--customers 100000] [--seed 5]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import polars as pl

from fideliza.customers.matching import MatchConfig, candidate_pairs, evaluate, prepare, score_pairs
from fideliza.customers.matching_synth import labelled_cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    cards = labelled_cards(args.customers, duplicate_share=0.15, seed=args.seed)
    t_gen = time.perf_counter() - t0
    config = MatchConfig()
    t0 = time.perf_counter()
    prepared = prepare(cards.drop("entity"), config)
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = candidate_pairs(prepared, config)
    t_block = time.perf_counter() - t0
    t0 = time.perf_counter()
    scored = score_pairs(prepared, pairs)
    t_score = time.perf_counter() - t0
    decided = scored.with_columns(
        pl.when(pl.col("score") >= config.auto_merge).then(pl.lit("auto"))
        .when(pl.col("score") >= config.review).then(pl.lit("review"))
        .otherwise(pl.lit("no")).alias("decision"))
    figures = evaluate(decided, cards.select("id", "entity"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t_prep + t_block + t_score
    print(f"machine: {platform.machine()} {platform.python_version()} polars {pl.__version__}")
    print(f"cards: {args.customers:,} (15 % duplicates, seed {args.seed}); generated in {t_gen:.1f} s")
    print(f"normalise {t_prep:.2f} s · blocking {t_block:.2f} s ({len(pairs):,} candidate pairs) · "
          f"scoring {t_score:.2f} s")
    print(f"matching total: {total:.2f} s ({args.customers / total:,.0f} cards/s); peak RSS {peak_mb:.0f} MB")
    print(f"auto-merge: precision {figures['auto_precision']:.4f} recall {figures['auto_recall']:.4f}; "
          f"auto+review: precision {figures['auto+review_precision']:.4f} "
          f"recall {figures['auto+review_recall']:.4f} ({figures['true_pairs']:.0f} true pairs)")


if __name__ == "__main__":
    main()
