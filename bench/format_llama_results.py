#!/usr/bin/python3
"""Tables of bench/run_llama_bench.sh's results (JSON lines), with the ratios the issue asks for.

  format_llama_results.py RESULTS.jsonl --model DIR [--pairs "bf16:F16 int8:Q8_0"]
  format_llama_results.py --progress < lines        (one short line per result, while running)
  format_llama_results.py --ceiling-args --model DIR (the matmul ceiling tool's --shapes/--layers
                                                     for the model's linear layers)

Lines: {"engine": "mmserve"|"llama.cpp"|"machine", "precision", "mode": prompt|decode|serve|
llama-bench|bandwidth|ceiling, ...} as bench/llama_bench_client.py, llama-bench -o jsonl and
bench/memory_bandwidth.cpp and bench/matmul_ceiling.cpp print them.
"""
import argparse
import json
import os
import sys

# Bytes a generated token reads per weight (the token embedding is a row lookup, not read
# whole): mmserve int8 keeps one float scale per output row besides the int8 values; GGUF
# Q8_0 blocks are 32 int8 values and one f16 scale (34 bytes per 32 weights).
BYTES_PER_WEIGHT = {"fp32": 4.0, "bf16": 2.0, "int8": 1.0, "F32": 4.0, "F16": 2.0, "BF16": 2.0, "Q8_0": 34 / 32}


def progress(lines):
    for line in lines:
        j = json.loads(line)
        who = f"{j.get('engine')} {j.get('precision', '')}".strip()
        m = j.get("mode")
        if m == "prompt":
            s = f"prompt {j['tokens']}: {j['tok_s']:.1f} tok/s (TTFT {j['ttft_s'] * 1e3:.0f} ms)"
        elif m == "decode":
            s = f"decode {j['tokens']}: {j['tok_s']:.2f} tok/s"
        elif m == "serve":
            s = (f"serve {j['streams']} streams: {j['total_tok_s']:.1f} tok/s total, TTFT p50 {j['ttft_p50_s']:.2f} s "
                 f"p99 {j['ttft_p99_s']:.2f} s ({j['requests']} requests, {j['wall_s']:.0f} s)")
        elif m == "llama-bench":
            s = f"llama-bench pp{j['n_prompt']}/tg{j['n_gen']}: {j['avg_ts']:.2f} tok/s"
        elif m == "ceiling":
            s = f"matmul ceiling, M = {j['m']}: {j['gflops_per_s']:.1f} GFLOP/s ({j['impl']})"
        elif m == "bandwidth":
            s = f"bandwidth: copy {j['copy_gb_s']:.1f} GB/s, read {j['read_gb_s']:.1f} GB/s ({j['threads']} threads)"
        else:
            s = json.dumps(j)
        print(f"   {who}: {s}", flush=True)


def weights_per_token(model_dir):
    """Weights read per generated token: every linear layer and the lm_head."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    d, inter, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    hd = c.get("head_dim") or d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    per_layer = d * (q + 2 * kv) + q * d + 3 * d * inter
    return layers * per_layer + c["vocab_size"] * d, layers * (q + 2 * kv + d + 2 * inter + d) + c["vocab_size"]


def linear_shapes(model_dir):
    """The (K, N) of one layer's products as mmserve stacks them (q|k|v, o, gate|up, down), and the layer count."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    d, inter = c["hidden_size"], c["intermediate_size"]
    hd = c.get("head_dim") or d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    return [(d, q + 2 * kv), (q, d), (d, 2 * inter), (inter, d)], c["num_hidden_layers"]


def prompt_flop_per_token(model_dir):
    """Matrix-product FLOPs per prompt token in the transformer layers: what the ceiling tool times.
    Attention's products (2% at 512 tokens on this shape) and the lm_head (last position only) are left out."""
    shapes, layers = linear_shapes(model_dir)
    return 2 * layers * sum(k * n for k, n in shapes)


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


# llama-bench on these machines when they were quiet (../shared/peers/README.md: 2 threads,
# this shape; prompt figures are pp128, generation tg32): a yardstick for a run whose
# llama.cpp figures a busy machine distorted (its threads spin between ops by default).
QUIET_LLAMA_CPP = {"F16": (100.0, 12.8), "BF16": (95.0, 11.0), "Q8_0": (255.0, 23.7)}


def table(headers, rows):
    widths = [max([len(str(h))] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]  # rows may be none
    out = ["  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?")
    ap.add_argument("--model")
    ap.add_argument("--pairs", default="bf16:F16 int8:Q8_0")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--ceiling-args", action="store_true")
    a = ap.parse_args()
    if a.progress:
        progress(sys.stdin)
        return
    if a.ceiling_args:
        shapes, layers = linear_shapes(a.model)
        print("--shapes " + ",".join(f"{k}x{n}" for k, n in shapes) + f" --layers {layers}")
        return
    with open(a.results) as f:
        rows = [json.loads(line) for line in f if line.strip()]

    ours = {}    # (precision, key) -> value; key: pp128, tg128, serve16 ...
    peer = {}
    serve = {}   # (engine, precision, streams) -> row
    bandwidth = None
    ceiling = {}  # (precision, M) -> GFLOP/s of oneDNN's matmul alone on the model's shapes
    reached = {}  # mmserve precision -> GB/s its single-stream generation streamed
    for r in rows:
        e, p, m = r.get("engine"), r.get("precision"), r.get("mode")
        if m == "bandwidth":
            bandwidth = r
        elif m == "ceiling":
            ceiling[(p, r["m"])] = r["gflops_per_s"]
        elif m == "prompt":
            ours[(p, f"pp{r['tokens']}")] = r["tok_s"]
        elif m == "decode":
            ours[(p, f"tg{r['tokens']}")] = r["tok_s"]
        elif m == "llama-bench":
            key = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
            peer[(p, key)] = r["avg_ts"]
        elif m == "serve":
            serve[(e, p, r["streams"])] = r
    keys = sorted({k for _, k in ours} | {k for _, k in peer}, key=lambda k: (k[:2] != "pp", int(k[2:])))
    our_precs = [p for p in ("fp32", "bf16", "int8") if any(q == p for q, _ in ours)]
    peer_precs = [p for p in ("F32", "F16", "BF16", "Q8_0") if any(q == p for q, _ in peer)]

    print("1. Engine, tokens/s (prompt: 128/512 token ids, time to first token of a max_tokens=1 request through the"
          " HTTP API for mmserve, llama-bench ppN for llama.cpp; generation: one stream, 128 tokens, greedy, ignore_eos)")
    hdr = ["test"] + [f"mmserve {p}" for p in our_precs] + [f"llama.cpp {p}" for p in peer_precs]
    ratio_defs = [("bf16/F16", "bf16", "F16"), ("bf16/BF16", "bf16", "BF16"), ("int8/Q8_0", "int8", "Q8_0"),
                  ("fp32/F16", "fp32", "F16")]
    ratio_defs = [d for d in ratio_defs if d[1] in our_precs and d[2] in peer_precs]
    hdr += [d[0] for d in ratio_defs]
    body = []
    for k in keys:
        row = [k] + [fmt(ours.get((p, k)), 2) for p in our_precs] + [fmt(peer.get((p, k)), 2) for p in peer_precs]
        row += [fmt_ratio(ratio(ours.get((o, k)), peer.get((q, k)))) for _, o, q in ratio_defs]
        body.append(row)
    print(table(hdr, body))
    print("   (mmserve's side includes HTTP, tokenization-free token-id prompts and its scheduler; llama-bench calls the"
          " library directly. fp32/F16 is for information: different bits.)")
    quiet = []
    for o, q in (("bf16", "F16"), ("bf16", "BF16"), ("int8", "Q8_0")):
        pp, tg = QUIET_LLAMA_CPP[q]
        if (o, "pp128") in ours and (o, "tg128") in ours:
            quiet.append(f"{o} vs {q}: pp128 {ours[(o, 'pp128')] / pp:.2f}x, generation {ours[(o, 'tg128')] / tg:.2f}x")
    if quiet:
        print("   Against llama.cpp's figures from a quiet machine (peers/README.md: F16 100 / 12.8, BF16 95 / 11,"
              " Q8_0 255 / 23.7 tok/s), not from this run: " + "; ".join(quiet))

    print()
    print("2. Serving: total generated tokens/s and time to first token (p50/p99, seconds) with N concurrent streams,"
          " each a different 128-token prompt and 64 generated tokens (ignore_eos); llama-server with -np N")
    hdr = ["pair", "streams", "mmserve tok/s", "TTFT p50", "TTFT p99", "llama-server tok/s", "TTFT p50", "TTFT p99",
           "mmserve/llama"]
    body = []
    pairs = [p.split(":") for p in a.pairs.split()]
    streams = sorted({s for _, _, s in serve})
    for o, q in pairs:
        for s in streams:
            m, l = serve.get(("mmserve", o, s)), serve.get(("llama.cpp", q, s))
            if not m and not l:
                continue
            body.append([f"{o} vs {q}", s, fmt(m and m["total_tok_s"]), fmt(m and m["ttft_p50_s"], 2),
                         fmt(m and m["ttft_p99_s"], 2), fmt(l and l["total_tok_s"]), fmt(l and l["ttft_p50_s"], 2),
                         fmt(l and l["ttft_p99_s"], 2),
                         fmt_ratio(ratio(m and m["total_tok_s"], l and l["total_tok_s"]))])
    print(table(hdr, body))
    for o, _ in pairs:
        one, sixteen = serve.get(("mmserve", o, 1)), serve.get(("mmserve", o, 16))
        if one and sixteen:
            print(f"   mmserve {o}: total at 16 streams / its own single stream = "
                  f"{sixteen['total_tok_s']:.1f} / {one['total_tok_s']:.1f} = "
                  f"{sixteen['total_tok_s'] / one['total_tok_s']:.2f}x (target >= 4)")
    for _, q in pairs:
        one, sixteen = serve.get(("llama.cpp", q, 1)), serve.get(("llama.cpp", q, 16))
        if one and sixteen:
            print(f"   llama-server {q}, for comparison: {sixteen['total_tok_s'] / one['total_tok_s']:.2f}x")

    print()
    print("3. Memory bandwidth and what single-stream generation streams")
    if bandwidth:
        print(f"   copy of {bandwidth['mib']} MiB with {bandwidth['threads']} threads: {bandwidth['copy_gb_s']:.1f} GB/s"
              f" (read + write); a read-only sum: {bandwidth['read_gb_s']:.1f} GB/s")
    if a.model and os.path.exists(os.path.join(a.model, "config.json")):
        n_weights, n_rows = weights_per_token(a.model)
        body = []
        for p in our_precs + peer_precs:
            tg = ours.get((p, "tg128")) if p in our_precs else peer.get((p, "tg128"))
            if tg is None:
                continue
            bytes_tok = n_weights * BYTES_PER_WEIGHT.get(p, 2.0) + (n_rows * 4 if p == "int8" else 0)
            who = ("mmserve " if p in our_precs else "llama.cpp ") + p
            gbs = bytes_tok * tg / 1e9
            if p in our_precs:
                reached[p] = gbs
            bound = bandwidth and bandwidth["read_gb_s"] * 1e9 / bytes_tok
            body.append([who, f"{bytes_tok / 1e9:.2f}", fmt(tg, 2), fmt(gbs, 1),
                         fmt(bound, 1) if bound else "-"])
        print(table(["engine", "GB/token", "tok/s", "GB/s reached", "tok/s at read bandwidth"], body))

    print()
    print("Targets (ratios within this run):")

    def check(name, value, goal):
        if value is None:
            print(f"   {name}: not measured")
        else:
            print(f"   {name}: {value:.2f}x (target >= {goal}x) {'met' if value >= goal else 'NOT met'}")

    for o, q in (("bf16", "F16"), ("bf16", "BF16"), ("int8", "Q8_0")):
        if o in our_precs and q in peer_precs:
            check(f"generation {o} vs {q}", ratio(ours.get((o, "tg128")), peer.get((q, "tg128"))), 1.0)
    for o in our_precs:
        if o in reached and bandwidth:
            share = reached[o] / bandwidth["read_gb_s"]
            print(f"   generation {o}, weights streamed / read-only bandwidth: {reached[o]:.1f} / "
                  f"{bandwidth['read_gb_s']:.1f} GB/s = {share:.0%} (target >= 90%) {'met' if share >= 0.9 else 'NOT met'}")
    for o, q in (("bf16", "F16"), ("int8", "Q8_0")):
        for n in ("pp128", "pp512"):
            if o in our_precs and q in peer_precs:
                check(f"prompt {n} {o} vs {q}", ratio(ours.get((o, n)), peer.get((q, n))), 2.0)
    if a.model and os.path.exists(os.path.join(a.model, "config.json")):
        flop = prompt_flop_per_token(a.model)
        for (p, m), top in sorted(ceiling.items()):
            tok_s = ours.get((p, f"pp{m}"))
            if tok_s is None:
                print(f"   prompt pp{m} {p} of the {p} matmul ceiling: not measured (no mmserve {p} prompt at {m} tokens)")
                continue
            share = tok_s * flop / 1e9 / top
            print(f"   prompt pp{m} {p} of the {p} matmul ceiling: {tok_s:.1f} tok/s x {flop / 1e9:.2f} GFLOP/token = "
                  f"{tok_s * flop / 1e9:.0f} / {top:.0f} GFLOP/s = {share:.0%} (target >= 50%) "
                  f"{'met' if share >= 0.5 else 'NOT met'}")
    for o, _ in pairs:
        one, sixteen = serve.get(("mmserve", o, 1)), serve.get(("mmserve", o, 16))
        check(f"16 streams / single stream, mmserve {o}",
              ratio(sixteen and sixteen["total_tok_s"], one and one["total_tok_s"]), 4.0)


if __name__ == "__main__":
    main()
