#!/usr/bin/python3
"""Table of bench/serving_bench.sh's results: /predict throughput and latency per server and
number of concurrent clients, and mmserve's ratios to the FastAPI reference server.

  format_serving.py [bench/out/serving_results.jsonl] [--markdown]
  format_serving.py --progress < lines      (one short line per JSON line)

Each line is one mmserve-loadgen report (requests_per_s, p50_ms, p99_ms, failed) tagged with
server, precision, clients and run. A level's figures are the medians over its runs; the
failed count is their sum. Ratios: req/s is mmserve's over FastAPI's (higher is better);
p50 and p99 are mmserve's latency over FastAPI's (lower is better).
"""
import argparse
import json
import statistics
import sys

NAMES = {"mmserve": "mmserve", "fastapi": "FastAPI"}


def table(rows, markdown):
    if markdown:
        return "\n".join(["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])] +
                         ["| " + " | ".join(r) + " |" for r in rows[1:]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?", default="bench/out/serving_results.jsonl")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args()
    if a.progress:
        for line in sys.stdin:
            r = json.loads(line)
            print(f"   run {r['run']}  {r['clients']:>2} clients  {NAMES.get(r['server'], r['server']):<8} "
                  f"{r['precision']:<5} {r['requests_per_s']:7.1f} req/s  p50 {r['p50_ms']:7.0f} ms"
                  f"  p99 {r['p99_ms']:7.0f} ms  failed {r['failed']}", flush=True)
        return
    rows = [json.loads(l) for l in open(a.results) if l.strip().startswith("{")]
    if not rows:
        sys.exit(f"format_serving: no results in {a.results}")
    groups = {}
    for r in rows:
        groups.setdefault((r["clients"], r["server"], r["precision"]), []).append(r)
    fig = {k: {m: statistics.median(x[m] for x in v) for m in ("requests_per_s", "p50_ms", "p99_ms")} |
           {"failed": sum(x["failed"] for x in v), "runs": len(v), "sent": sum(x["sent"] for x in v)}
           for k, v in groups.items()}
    n_runs = max(f["runs"] for f in fig.values())
    print(f"/predict under closed-loop load, every request the same image and labels; medians over {n_runs} run(s).")
    print("Ratios: req/s = mmserve / FastAPI (higher is better); p50, p99 = mmserve / FastAPI (lower is better).")
    head = ["clients", "server", "req/s", "p50 ms", "p99 ms", "failed", "req/s ratio", "p50 ratio", "p99 ratio"]
    body = []
    order = {"mmserve": 0, "fastapi": 1}
    for k in sorted(fig, key=lambda k: (k[0], order.get(k[1], 9), k[2])):
        c, server, precision = k
        f = fig[k]
        cells = [str(c), f"{NAMES.get(server, server)} {precision}", f"{f['requests_per_s']:.1f}", f"{f['p50_ms']:.0f}",
                 f"{f['p99_ms']:.0f}", f"{f['failed']}/{f['sent']}"]
        ref = fig.get((c, "fastapi", "fp32"))
        if server == "mmserve" and ref:
            cells += [f"{f['requests_per_s'] / ref['requests_per_s']:.2f}x", f"{f['p50_ms'] / ref['p50_ms']:.2f}x",
                      f"{f['p99_ms'] / ref['p99_ms']:.2f}x"]
        else:
            cells += ["", "", ""]
        body.append(cells)
    print()
    print(table([head] + body, a.markdown))


if __name__ == "__main__":
    main()
