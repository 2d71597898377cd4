"""What the backtest and the learned model add to ``fideliza analyze``, as whole processes.

Generates N customers (default 1,000,000; about 10 transactions each, two years, the
BG/NBD + Gamma-Gamma process of ``benchmarks/analytics.py``), writes them to
``var/bench/learned_transactions.parquet`` and runs, each as its own process under
``/usr/bin/time -v`` (wall clock, user + system CPU, peak RSS):

- ``--no-backtest``: the textbook models only (what ``fideliza analyze`` did before
  issue 19);
- ``--model auto`` (the default): plus the backtest of every model on the last 12 months
  and the learned model (trained on at most 50,000 sampled customers, cross-fitted for
  its own backtest: two years of history are less than three horizons);
- ``--model learned``: the same work, the learned predictions used.

    .venv/bin/python benchmarks/learned_process.py [--customers 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.analytics import generate  # noqa: E402

OUT = ROOT / "var" / "bench"
FIDELIZA = ROOT / ".venv" / "bin" / "fideliza"


def _time(cmd: list[str]) -> dict:
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    err = proc.stderr

    def grab(label: str) -> str:
        m = re.search(rf"{re.escape(label)}: (.+)", err)
        return m.group(1).strip() if m else ""

    wall = grab("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {
        "wall_s": seconds,
        "cpu_s": float(grab("User time (seconds)")) + float(grab("System time (seconds)")),
        "peak_mb": int(grab("Maximum resident set size (kbytes)")) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"learned_transactions_{args.customers}.parquet"
    if not data.exists():
        generate(args.customers).write_parquet(data)
    load = os.getloadavg()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {load[0]:.1f}; {args.customers:,} customers in {data.name}")
    runs: dict[str, list[dict]] = {}
    variants = {
        "textbook only (--no-backtest)": ["--no-backtest"],
        "auto (backtest + learned)": ["--model", "auto"],
        "learned": ["--model", "learned"],
    }
    for _ in range(args.repeat):
        for name, extra in variants.items():
            out = OUT / f"learned_out_{name.split()[0]}"
            figures = _time([str(FIDELIZA), "analyze", str(data), "--out", str(out), *extra])
            models = json.loads((out / "models.json").read_text())
            figures["steps_s"] = {k: round(v, 2) for k, v in models["timings_seconds"].items()}
            if "backtest" in models:
                bt = models["backtest"]
                figures["chosen"] = bt.get("chosen")
                figures["backtest"] = {
                    k: {"auc": round(v["churn"]["auc"], 3), "mae": round(v["purchases"]["mae"], 3)}
                    for k, v in bt.get("models", {}).items() if "churn" in v}
                figures["n_train"] = (bt.get("learned") or {}).get("n_train")
            runs.setdefault(name, []).append(figures)
            print(f"  {name:<32} wall {figures['wall_s']:6.1f} s  CPU {figures['cpu_s']:6.1f} s"
                  f"  peak {figures['peak_mb']:6.0f} MB  {figures.get('chosen', '')}"
                  f"  {figures.get('backtest', '')}")
            print(f"      steps: {figures['steps_s']}")
    base = min(r["wall_s"] for r in runs["textbook only (--no-backtest)"])
    base_cpu = min(r["cpu_s"] for r in runs["textbook only (--no-backtest)"])
    for name in list(variants)[1:]:
        best = min(runs[name], key=lambda r: r["wall_s"])
        print(f"  extra for {name}: +{best['wall_s'] - base:.1f} s wall, "
              f"+{best['cpu_s'] - base_cpu:.1f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
