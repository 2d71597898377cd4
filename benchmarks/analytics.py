"""Benchmark of the analytics pipeline against lifetimes 0.11.3 and a bare Polars floor.

Generates N customers (default 1,000,000; about 10 transactions each) from a BG/NBD
purchase process with Gamma-Gamma spend (seeded; amounts are 2-place decimals), writes
them to ``var/bench/transactions.parquet`` and, each in its own subprocess so that peak
RSS is measured per contender (``resource.getrusage(RUSAGE_SELF).ru_maxrss``):

(a) ours: ``fideliza.analytics.pipeline.analyze`` (summary + BG/NBD + Gamma-Gamma + CLV +
    P(alive) + churn + RFM + ABC, the last two from the descriptive modules);
(b) lifetimes 0.11.3 (pandas 1.5.3, NumPy 1.26.4, SciPy 1.11.4, autograd 1.6.2) in a
    throw-away venv outside the repository (created on first use): summary, BG/NBD,
    Gamma-Gamma, CLV and P(alive) on the same file (lifetimes has no RFM/ABC);
(c) the floor: one Polars lazy query computing the same per-customer summary.

It prints the timings, the ratios, the peak memory, and checks that the summaries are
identical and the fitted parameters equal within 1e-3 relative. ``--customers N`` runs
smaller; ``--lifetimes-sample N`` gives lifetimes only N customers and extrapolates
linearly (clearly labelled) when the full size is too slow for you.

Usage::

    .venv/bin/python benchmarks/analytics.py [--customers 1000000] [--skip-lifetimes]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"
LIFETIMES_VENV = Path("/tmp/fideliza-bench-lifetimes")
LIFETIMES_PINS = [
    "lifetimes==0.11.3",
    "pandas==1.5.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "autograd==1.6.2",
    "pyarrow==14.0.2",
]
START = dt.datetime(2023, 1, 1)
WINDOW_DAYS = 730
UNIT_DAYS = 7.0  # models in weeks, purchases collapsed by day (as FHL's CDNOW analysis)
HORIZON_MONTHS = 12
DISCOUNT = 0.01


# -- data -----------------------------------------------------------------------------------
def generate(n_customers: int, seed: int = 20240601) -> pl.DataFrame:
    """Transactions of ``n_customers`` from a BG/NBD process with Gamma-Gamma spend.

    Customers are born uniformly over the first year of a two-year window. While alive a
    customer buys at rate lambda ~ Gamma(r=0.9, alpha=4) per week and drops out after each
    purchase with probability p ~ Beta(a=0.8, b=6); each purchase day gets one ticket, or
    two (10 %) that the summary must collapse. Spend per ticket ~ Gamma(6, nu) with
    nu ~ Gamma(3.5, 120) (mean about 34), rounded to cents.

    Returns
    -------
    polars.DataFrame
        ``customer_id`` (Int64), ``ts`` (Datetime), ``amount`` (Decimal(12, 2)), sorted by
        time (as a shop's ticket log would be).
    """
    rng = np.random.default_rng(seed)
    n = n_customers
    birth = rng.integers(0, 365, n)
    horizon = (WINDOW_DAYS - 1 - birth) / UNIT_DAYS  # weeks observable after birth
    lam = rng.gamma(0.9, 1 / 4.0, n)
    p = rng.beta(0.8, 6.0, n)
    repeats_alive = rng.geometric(p)  # repeat purchases until the one after which they drop out
    expected_in_window = lam * horizon
    cap = np.minimum(
        repeats_alive, (expected_in_window + 6 * np.sqrt(expected_in_window) + 10).astype(np.int64)
    )
    total = int(cap.sum())
    owner = np.repeat(np.arange(n), cap)
    gaps = rng.exponential(1.0, total) / lam[owner]
    csum = np.cumsum(gaps)
    starts = np.concatenate([[0], np.cumsum(cap)[:-1]])
    offset = np.repeat(np.concatenate([[0.0], csum])[starts], cap)
    when = csum - offset  # weeks after the first purchase
    keep = when <= horizon[owner]
    owner, when = owner[keep], when[keep]
    cust = np.concatenate([np.arange(n), owner])
    day = np.concatenate([birth, birth[owner] + np.floor(when * UNIT_DAYS).astype(np.int64)])
    dup = rng.random(cust.size) < 0.10
    cust = np.concatenate([cust, cust[dup]])
    day = np.concatenate([day, day[dup]])
    nu = rng.gamma(3.5, 1 / 120.0, n)
    cents = np.maximum(np.rint(rng.gamma(6.0, 1.0, cust.size) / nu[cust] * 100), 1)
    seconds = rng.integers(9 * 3600, 21 * 3600, cust.size)
    order = np.argsort(day * 86400 + seconds, kind="stable")
    ts = (np.datetime64(START, "us") + (day * 86400 + seconds).astype("timedelta64[s]"))[order]
    return pl.DataFrame(
        {
            "customer_id": cust[order].astype(np.int64) + 100_000,
            "ts": pl.Series(ts).cast(pl.Datetime("us")),
            "amount": (pl.Series(cents[order]) / 100).cast(pl.Decimal(12, 2)),
        }
    )


def observation_end(frame: pl.DataFrame | pl.LazyFrame) -> dt.date:
    return frame.lazy().select(pl.col("ts").max()).collect().item().date()


# -- workers (run in subprocesses) -------------------------------------------------------------
def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` of the process's own address space: ``ru_maxrss`` survives ``exec`` on Linux,
    so a worker started from a parent that held the 10M-row frame would report the
    parent's peak instead of its own (both contenders once showed the same 1,496 MB).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_ours(data: Path, out: Path) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from fideliza.analytics.pipeline import AnalysisConfig, analyze

    t0 = time.perf_counter()
    tx = pl.read_parquet(data)
    t_load = time.perf_counter() - t0
    end = observation_end(tx)
    config = AnalysisConfig(
        period="week",
        observation_end=end,
        horizon=HORIZON_MONTHS,
        discount_rate=DISCOUNT,
        fit_paretonbd=False,
        next_purchase=False,
        descriptive=("rfm", "abc"),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    result = analyze(tx, config)
    t_pipeline, c_pipeline = time.perf_counter() - t0, time.process_time() - c0
    c = result.customers
    # lifetimes computes BG/NBD's own P(alive) (1 for one-time buyers); `p_alive` shows the
    # interval rule for those, so the comparison takes `p_alive_bgnbd`.
    c.select(
        "customer_id", "frequency", "recency", "T", "monetary_value",
        pl.col("p_alive_bgnbd").alias("p_alive"), "clv",
    ).write_parquet(out)
    return {
        "load_s": t_load,
        "pipeline_s": t_pipeline,
        "pipeline_cpu_s": c_pipeline,
        "steps_s": result.timings,
        "steps_cpu_s": result.cpu_timings,
        "descriptive": result.models.get("descriptive", {}),
        "bgnbd": result.models["bgnbd"]["params"],
        "gammagamma": result.models["gammagamma"]["params"],
        "bgnbd_convergence": {
            k: result.models["bgnbd"]["convergence"][k]
            for k in ("success", "iterations", "penalizer_coef", "n_patterns")
        },
        "n_customers": c.height,
        "peak_rss_mb": _peak_rss_mb(),
    }


def worker_floor(data: Path, out: Path | None = None) -> dict:
    t0 = time.perf_counter()
    tx = pl.read_parquet(data)
    t_load = time.perf_counter() - t0
    end = observation_end(tx)
    t0, c0 = time.perf_counter(), time.process_time()
    summary = (
        tx.lazy()
        .with_columns(pl.col("ts").dt.date().alias("d"))
        .group_by("customer_id", "d")
        .agg(pl.col("amount").sum())
        .group_by("customer_id")
        .agg(
            pl.len().alias("n"),
            pl.col("d").min().alias("first"),
            pl.col("d").max().alias("last"),
            pl.col("amount").sum().alias("total"),
            pl.col("amount").get(pl.col("d").arg_min()).alias("first_amount"),
        )
        .select(
            "customer_id",
            (pl.col("n") - 1).alias("frequency"),
            ((pl.col("last") - pl.col("first")).dt.total_days() / UNIT_DAYS).alias("recency"),
            ((pl.lit(end) - pl.col("first")).dt.total_days() / UNIT_DAYS).alias("T"),
            pl.when(pl.col("n") > 1)
            .then((pl.col("total") - pl.col("first_amount")).cast(pl.Float64) / (pl.col("n") - 1))
            .otherwise(0.0)
            .alias("monetary_value"),
        )
        .collect(engine="streaming")
    )
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out is not None:
        summary.sort("customer_id").write_parquet(out)
    return {
        "summary_cpu_s": cpu,
        "load_s": t_load,
        "summary_s": elapsed,
        "n_customers": summary.height,
        "peak_rss_mb": _peak_rss_mb(),
    }


LIFETIMES_SCRIPT = r"""
import json, resource, sys, time, warnings
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
data, out, end, sample, horizon, discount = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
t0 = time.perf_counter()
tx = pd.read_parquet(data)
tx["amount"] = tx["amount"].astype(float)
if sample:
    keep = np.sort(tx["customer_id"].unique())[:sample]
    tx = tx[tx["customer_id"].isin(keep)]
t_load = time.perf_counter() - t0
times = {}
t0, c0 = time.perf_counter(), time.process_time()
s = summary_data_from_transaction_data(tx, "customer_id", "ts", monetary_value_col="amount", observation_period_end=end, freq="D", freq_multiplier=7)
times["summary"] = time.perf_counter() - t0
t = time.perf_counter()
bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
times["fit_bgnbd"] = time.perf_counter() - t
t = time.perf_counter()
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
times["fit_gammagamma"] = time.perf_counter() - t
t = time.perf_counter()
s["p_alive"] = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
times["p_alive"] = time.perf_counter() - t
t = time.perf_counter()
s["clv"] = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=horizon, discount_rate=discount, freq="W")
times["clv"] = time.perf_counter() - t
total, cpu = time.perf_counter() - t0, time.process_time() - c0
s.reset_index().to_parquet(out)
print(json.dumps({"load_s": t_load, "pipeline_s": total, "pipeline_cpu_s": cpu, "steps_s": times, "n_customers": len(s),
    "bgnbd": bgf.params_.to_dict(), "gammagamma": ggf.params_.to_dict(),
    "peak_rss_mb": peak_mb()}))
"""


def ensure_lifetimes_venv(python: str) -> Path:
    """Create the throw-away lifetimes venv (outside the repository) if missing."""
    exe = LIFETIMES_VENV / "bin" / "python"
    check = [
        str(exe),
        "-c",
        "import lifetimes, pandas, pyarrow; assert lifetimes.__version__ == '0.11.3'",
    ]
    if exe.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return exe
    subprocess.run([python, "-m", "venv", str(LIFETIMES_VENV)], check=True)
    subprocess.run([str(exe), "-m", "pip", "install", "-q", *LIFETIMES_PINS], check=True)
    return exe


def _run_json(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- comparison -----------------------------------------------------------------------------------
def compare_summaries(ours: Path, theirs: Path) -> dict:
    a = pl.read_parquet(ours).sort("customer_id")
    b = pl.read_parquet(theirs).sort("customer_id")
    b = b.join(a.select("customer_id"), on="customer_id", how="semi")
    a = a.join(b.select("customer_id"), on="customer_id", how="semi")
    same_ids = a["customer_id"].equals(b["customer_id"])
    out = {"customers_compared": a.height, "same_customers": same_ids}
    if same_ids:
        out["frequency_equal"] = bool((a["frequency"].cast(pl.Float64) == b["frequency"]).all())
        for col in ("recency", "T", "monetary_value", "p_alive", "clv"):
            x, y = a[col].to_numpy(), b[col].to_numpy()
            out[f"{col}_max_rel_diff"] = float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-12)))
    return out


def rel_diff(p: dict, q: dict) -> dict:
    return {k: abs(p[k] - q[k]) / abs(q[k]) for k in q}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--regenerate", action="store_true", help="ignore a cached data file")
    parser.add_argument(
        "--lifetimes-sample", type=int, default=0, help="customers given to lifetimes (0 = all)"
    )
    parser.add_argument(
        "--python",
        default="/root/.pyenv/versions/3.11.7/bin/python3",
        help="interpreter for the lifetimes venv",
    )
    parser.add_argument("--worker", choices=("ours", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "ours":
        print(json.dumps(worker_ours(args.data, args.out)))
        return 0
    if args.worker == "floor":
        print(json.dumps(worker_floor(args.data)))
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"transactions_{args.customers}_{args.seed}.parquet"
    t0 = time.perf_counter()
    if data.exists() and not args.regenerate:
        how = "reused (same size and seed)"
    else:
        generate(args.customers, args.seed).write_parquet(data)
        how = f"generated in {time.perf_counter() - t0:.1f} s"
    # Only metadata in this process: the workers measure their own peak memory.
    frame = pl.scan_parquet(data)
    n_rows = frame.select(pl.len()).collect().item()
    end = observation_end(frame)
    print(
        f"conditions: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, polars {pl.__version__}, numpy {np.__version__}; "
        f"load average {tuple(round(v, 1) for v in os.getloadavg())} (other jobs share the CPUs)"
    )
    print(
        f"data: {args.customers:,} customers, {n_rows:,} transactions (Decimal(12,2) "
        f"amounts), observation end {end}; {how} -> {data}"
    )
    del frame

    me = [sys.executable, str(Path(__file__).resolve())]
    ours = _run_json(
        [*me, "--worker", "ours", "--data", str(data), "--out", str(OUT / "ours.parquet")]
    )
    floor = _run_json([*me, "--worker", "floor", "--data", str(data)])
    print(
        f"(a) ours      : pipeline {ours['pipeline_s']:.2f} s wall, {ours['pipeline_cpu_s']:.2f} s CPU "
        f"(load {ours['load_s']:.2f} s), peak RSS {ours['peak_rss_mb']:.0f} MB"
    )
    print("    steps wall: " + ", ".join(f"{k} {v:.2f}" for k, v in ours["steps_s"].items()))
    print("    steps CPU : " + ", ".join(f"{k} {v:.2f}" for k, v in ours["steps_cpu_s"].items()))
    print(f"    descriptive modules: {ours['descriptive'] or 'none'}")
    print(f"    BG/NBD {ours['bgnbd']} {ours['bgnbd_convergence']}")
    print(f"    Gamma-Gamma {ours['gammagamma']}")
    print(
        f"(c) floor     : Polars summary {floor['summary_s']:.2f} s wall, {floor['summary_cpu_s']:.2f} s "
        f"CPU (load {floor['load_s']:.2f} s), peak RSS {floor['peak_rss_mb']:.0f} MB"
    )
    print(
        f"    ours / floor = {ours['pipeline_s'] / floor['summary_s']:.2f}x wall, "
        f"{ours['pipeline_cpu_s'] / floor['summary_cpu_s']:.2f}x CPU (target <= 3x)"
    )
    print(f"    peak RSS ours {ours['peak_rss_mb']:.0f} MB (target <= 1024 MB)")
    if args.skip_lifetimes:
        return 0
    exe = ensure_lifetimes_venv(args.python)
    script = OUT / "lifetimes_worker.py"
    script.write_text(LIFETIMES_SCRIPT)
    lt = _run_json(
        [
            str(exe),
            str(script),
            str(data),
            str(OUT / "lifetimes.parquet"),
            end.isoformat(),
            str(args.lifetimes_sample),
            str(HORIZON_MONTHS),
            str(DISCOUNT),
        ]
    )
    label = ""
    lt_time = lt["pipeline_s"]
    if args.lifetimes_sample and lt["n_customers"] < ours["n_customers"]:
        lt_time = lt["pipeline_s"] * ours["n_customers"] / lt["n_customers"]
        label = f" [EXTRAPOLATED linearly from {lt['n_customers']:,} customers: measured {lt['pipeline_s']:.2f} s]"
    print(
        f"(b) lifetimes : {lt_time:.2f} s wall{label}, {lt['pipeline_cpu_s']:.2f} s CPU measured, "
        f"peak RSS {lt['peak_rss_mb']:.0f} MB (load {lt['load_s']:.2f} s; no RFM/ABC in lifetimes)"
    )
    print("    steps     : " + ", ".join(f"{k} {v:.2f}" for k, v in lt["steps_s"].items()))
    lt_cpu = lt["pipeline_cpu_s"] * lt_time / lt["pipeline_s"]
    print(
        f"    ours vs lifetimes: {lt_time / ours['pipeline_s']:.1f}x faster wall, "
        f"{lt_cpu / ours['pipeline_cpu_s']:.1f}x less CPU (target >= 20x); "
        f"memory {lt['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x less"
    )
    (OUT / "results.json").write_text(json.dumps({"ours": ours, "floor": floor, "lifetimes": lt}))
    check = compare_summaries(OUT / "ours.parquet", OUT / "lifetimes.parquet")
    print(f"    summary check: {check}")
    if not args.lifetimes_sample:
        bg = rel_diff(ours["bgnbd"], lt["bgnbd"])
        gg = rel_diff(ours["gammagamma"], lt["gammagamma"])
        ok = max([*bg.values(), *gg.values()]) < 1e-3
        print(
            f"    parameters vs lifetimes (relative): BG/NBD {bg}, Gamma-Gamma {gg} -> {'OK' if ok else 'MISMATCH'} (< 1e-3)"
        )
    else:
        print("    parameters not compared: lifetimes saw a sample")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
