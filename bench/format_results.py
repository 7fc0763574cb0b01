#!/usr/bin/python3
"""Tables of an encoder benchmark run (bench/run_engine_bench.sh, bench/run_clip_bench.sh).

  format_results.py [RESULTS.jsonl] [--ceiling CEILING.jsonl] [--model DIR] [--markdown] [--stat median|best]
  format_results.py --progress < lines      (one short line per JSON line, as a run goes)

RESULTS holds one JSON line per engine, precision, case, batch and run (case, engine,
precision, batch, median_ms, best_ms, items_per_s, iters, run). A point's figure is the
median over its runs of their median call times; items/s = batch / that time. With
--stat best, each run's fastest call replaces its median (on a busy machine the fastest
call is the least disturbed one; the same for the ceiling).

Tables, per case:
  1. items/s of every engine and precision (images/s or texts/s), and the spread of the runs
  2. each mmserve precision: its items/s over each peer's, its achieved GFLOP/s (the FLOPs
     of the case from bench/clip_flops.py, times items/s) and that as a fraction of the
     oneDNN matmul ceiling of the same precision, case and batch (mmserve-matmul-ceiling on
     the case's linear shapes; for int8 the better of u8 and s8 activations)
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_flops  # noqa: E402

ENGINE_ORDER = {"mmserve": 0, "pytorch": 1, "onnxruntime": 2}
PRECISION_ORDER = {"fp32": 0, "bf16": 1, "int8": 2}
SHORT = {"mmserve": "mmserve", "pytorch": "PyTorch", "onnxruntime": "ORT"}
CASE_ORDER = {"image": 0, "text-77": 1, "text-short": 2}


# The engine targets (issue "engine speed, round two"), per encoder case and batch of 8 or 32:
# (what, mmserve precision, peer or None for the ceiling, the bar).
TARGETS = [
    ("fp32 / ORT fp32", "fp32", ("onnxruntime", "fp32"), 1.0),
    ("int8 / ORT int8", "int8", ("onnxruntime", "int8"), 1.5),
    ("bf16 of its matmul ceiling", "bf16", None, 0.75),
    ("int8 of its matmul ceiling", "int8", None, 0.75),
]


def print_targets(figure, ceiling, cfg, markdown):
    rows = [["target", "case", "batch", "ratio", "bar", "met"]]
    for case in sorted({k[0] for k in figure}, key=case_key):
        if case == "text-short":
            continue
        flop = clip_flops.flop_per_item(cfg, case) if cfg else None
        for b in sorted({k[1] for k in figure if k[0] == case}):
            if b not in (8, 32):
                continue
            for name, p, peer, bar in TARGETS:
                mine = figure.get((case, b, "mmserve", p))
                if mine is None:
                    continue
                if peer:
                    other = figure.get((case, b) + peer)
                    ratio = mine[0] / other[0] if other else None
                else:
                    c = ceiling.get((case, b, p))
                    ratio = mine[0] * flop / 1e9 / c if c and flop else None
                if ratio is None:
                    continue
                shown = f"{ratio:.2f}x" if peer else f"{ratio:.0%}"
                rows.append([name, case, str(b), shown, f"{bar:.2f}x" if peer else f"{bar:.0%}",
                             "yes" if ratio >= bar else "NO"])
    if len(rows) > 1:
        print()
        print("Targets:")
        print(table(rows, markdown))


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def case_key(c):
    return (CASE_ORDER.get("image" if c.startswith("image-") else c, 9), c)


def progress(stream):
    for line in stream:
        if not line.strip().startswith("{"):
            continue
        r = json.loads(line)
        head = f"   run {r.get('run', 1)}  {r['case']:<10} batch {r['batch']:>2}  "
        if r["engine"] == "onednn-matmul":
            print(head + f"matmul ceiling {r['precision']:<4} ({r['src']:>4}) {r['gflops_per_s']:8.0f} GFLOP/s  ({r['impl']})")
        else:
            print(head + f"{r['engine']:<11} {r['precision']:<5} {r['items_per_s']:9.1f} items/s"
                         f"  (median {r['median_ms']:.1f} ms over {r['iters']} calls)")
        sys.stdout.flush()


def table(rows, markdown):
    """rows[0] is the header; first column left-aligned, the others right-aligned."""
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?", default="bench/out/engine_results.jsonl")
    ap.add_argument("--ceiling", help="mmserve-matmul-ceiling's JSON lines of the same run")
    ap.add_argument("--model", default="bench/out/vit-b-32", help="checkpoint folder, for the FLOP counts")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--stat", choices=["median", "best"], default="median",
                    help="each run's median call time (default) or its fastest call")
    ap.add_argument("--progress", action="store_true", help="print one line per JSON line read from stdin")
    a = ap.parse_args()
    if a.progress:
        progress(sys.stdin)
        return

    rows = load(a.results)
    if not rows:
        sys.exit(f"format_results: no results in {a.results}")
    runs = {}
    for r in rows:
        runs.setdefault((r["case"], r["batch"], r["engine"], r["precision"]), []).append(r[f"{a.stat}_ms"])
    # figure[(case, batch, engine, precision)] = (items/s of the median run time, spread of the runs in %, runs)
    figure = {}
    for k, times in runs.items():
        med = statistics.median(times)
        spread = (max(times) - min(times)) / med * 100 if len(times) > 1 else 0.0
        figure[k] = (k[1] / med * 1e3, spread, len(times))

    ceiling = {}
    if a.ceiling and os.path.exists(a.ceiling):
        per_run = {}
        for r in load(a.ceiling):  # int8: the better activation type (u8 or s8) of each run
            k = (r["case"], r["batch"], r["precision"], r.get("run", 1))
            g = r["gflops_per_s"] if a.stat == "median" else r["gflop"] / r["best_ms"] * 1e3
            per_run[k] = max(per_run.get(k, 0.0), g)
        by_point = {}
        for (c, b, p, _), g in per_run.items():
            by_point.setdefault((c, b, p), []).append(g)
        ceiling = {k: statistics.median(v) for k, v in by_point.items()}
    cfg = clip_flops.load_config(a.model) if os.path.exists(os.path.join(a.model, "config.json")) else None

    cases = sorted({k[0] for k in figure}, key=case_key)
    columns = sorted({(k[2], k[3]) for k in figure}, key=lambda e: (ENGINE_ORDER.get(e[0], 9), PRECISION_ORDER.get(e[1], 9)))
    n_runs = max(v[2] for v in figure.values())
    print(f"Figures: median over {n_runs} run(s) of each run's {'median' if a.stat == 'median' else 'fastest'} call time; "
          "'±' is the spread (max - min) of the runs over that median.")
    for case in cases:
        unit = "images/s" if case.startswith("image-") else "texts/s"
        flop = clip_flops.flop_per_item(cfg, case) if cfg else None
        batches = sorted({k[1] for k in figure if k[0] == case})
        head = [f"{case} ({unit})"] + [f"{SHORT.get(e, e)} {p}" for e, p in columns]
        body = []
        for b in batches:
            cells = [f"batch {b}"]
            for e, p in columns:
                f = figure.get((case, b, e, p))
                cells.append("-" if f is None else f"{f[0]:.1f} ±{f[1]:.0f}%" if f[2] > 1 else f"{f[0]:.1f}")
            body.append(cells)
        print()
        print(table([head] + body, a.markdown))

        peers = [(e, p) for e, p in columns if e != "mmserve"]
        mine = [p for e, p in columns if e == "mmserve"]
        if not mine:
            continue
        head = [f"{case}: mmserve", unit] + [f"/ {SHORT.get(e, e)} {p}" for e, p in peers]
        if flop:
            head += ["GFLOP/s"]
        if ceiling:
            head += ["ceiling GFLOP/s", "of ceiling"]
        body = []
        for b in batches:
            for p in mine:
                f = figure.get((case, b, "mmserve", p))
                if f is None:
                    continue
                cells = [f"batch {b} {p}", f"{f[0]:.1f}"]
                for e, q in peers:
                    g = figure.get((case, b, e, q))
                    cells.append("-" if g is None else f"{f[0] / g[0]:.2f}x")
                achieved = f[0] * flop / 1e9 if flop else None
                if flop:
                    cells.append(f"{achieved:.0f}")
                if ceiling:
                    c = ceiling.get((case, b, p))
                    cells += ["-", "-"] if c is None else [f"{c:.0f}", f"{achieved / c:.0%}" if achieved else "-"]
                body.append(cells)
        print()
        print(table([head] + body, a.markdown))
    print_targets(figure, ceiling, cfg, a.markdown)
    if cfg:
        print()
        print("FLOPs per item (bench/clip_flops.py): " +
              ", ".join(f"{c} {clip_flops.flop_per_item(cfg, c) / 1e9:.2f} GFLOP" for c in cases))


if __name__ == "__main__":
    main()
