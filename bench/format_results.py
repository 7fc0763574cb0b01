#!/usr/bin/python3
"""Table of bench/out/results.jsonl: every row's items/s over PyTorch fp32's on the same case and batch."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else "bench/out/results.jsonl") if line.strip()]
base = {(r["case"], r["batch"]): r["items_per_s"] for r in rows if r["engine"] == "pytorch" and r["precision"] == "fp32"}
# best ms too: on a shared machine the fastest call is the least disturbed one.
fmt = "{:<11} {:>5}  {:<8} {:<9} {:>10} {:>9} {:>9} {:>16}"
print(fmt.format("encoder", "batch", "engine", "precision", "median ms", "best ms", "items/s", "vs PyTorch fp32"))
order = {"mmserve": 0, "pytorch": 1}
for r in sorted(rows, key=lambda r: (r["case"], r["batch"], order.get(r["engine"], 2), r["precision"])):
    ref = base.get((r["case"], r["batch"]))
    is_base = r["engine"] == "pytorch" and r["precision"] == "fp32"
    ratio = "" if is_base or not ref else f"{r['items_per_s'] / ref:.2f}x"
    print(fmt.format(r["case"], r["batch"], r["engine"], r["precision"], f"{r['median_ms']:.1f}", f"{r.get('best_ms', float('nan')):.1f}",
                     f"{r['items_per_s']:.1f}", ratio))
