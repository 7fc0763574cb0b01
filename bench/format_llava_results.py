#!/usr/bin/python3
"""The table of bench/run_llava_bench.sh from its JSON lines (medians over the repeats,
warm-up runs dropped), with the ratios the issue's targets are stated in: mmserve's time to
first token over llama.cpp's (same image, same question), and mmserve's second turn on the
same image over its first."""
import json
import statistics
import sys

PAIRS = {"bf16": "F16", "int8": "Q8_0", "fp32": "F16"}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".0f"):
    return "" if x is None else format(x, spec)


def summary(rows, engine, precision, turn):
    t = [r for r in rows if r["engine"] == engine and r["precision"] == precision and r["turn"] == turn
         and not r.get("warmup")]
    if not t:
        return None
    return {k: median([r.get(k) for r in t]) for k in ("ttft_ms", "image_encode_ms", "prefill_ms", "decode_tok_s",
                                                        "prompt_tokens")}


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    print("| engine | precision | turn | prompt tokens | time to first token ms | of it: image ms |"
          " of it: prefill ms | decode tok/s | TTFT vs llama.cpp | turn 2 / turn 1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for p in sorted({r["precision"] for r in rows if r["engine"] == "mmserve"}):
        first = summary(rows, "mmserve", p, 1)
        peer = summary(rows, "llama.cpp", PAIRS.get(p, ""), 1)
        for turn in (1, 2):
            s = summary(rows, "mmserve", p, turn)
            if not s:
                continue
            vs = f"{s['ttft_ms'] / peer['ttft_ms']:.2f}x of {PAIRS[p]}" if peer and turn == 1 else ""
            ratio = f"{s['ttft_ms'] / first['ttft_ms']:.3f}" if turn == 2 else ""
            print(f"| mmserve | {p} | {turn} | {fmt(s['prompt_tokens'])} | {fmt(s['ttft_ms'])} |"
                  f" {fmt(s['image_encode_ms'])} | {fmt(s['prefill_ms'])} | {fmt(s['decode_tok_s'], '.2f')} |"
                  f" {vs} | {ratio} |")
    for t in sorted({r["precision"] for r in rows if r["engine"] == "llama.cpp"}):
        s = summary(rows, "llama.cpp", t, 1)
        if s:
            print(f"| llama.cpp | {t} | 1 | {fmt(s['prompt_tokens'])} | {fmt(s['ttft_ms'])} | {fmt(s['image_encode_ms'])} |"
                  f" {fmt(s['prefill_ms'])} | {fmt(s['decode_tok_s'], '.2f')} | | |")


if __name__ == "__main__":
    main()
