#!/usr/bin/python3
"""Helpers of bench/run_whisper_bench.sh.

  whisper_bench_format.py parse-cli LOG AUDIO_S WALL_S
      whisper-cli's whisper_print_timings lines -> one JSON line: processing seconds (total
      minus model load), real-time factor, 30 s windows (encode runs), tokens decoded per
      window (the prompt pass gives the first; every single-token decode run one more),
      decode ms per token ((decode + sampling) / tokens) and the rest per window (mel,
      encoder, prompt pass, the lot) in ms.
  whisper_bench_format.py parse-mmserve-log LOG REQUESTS
      the stage fields (mel_ms, audio_encode_ms, text_decode_ms, audio_windows, *tokens*) of
      mmserve's last REQUESTS transcription lines in its log, averaged, as one JSON line.
  whisper_bench_format.py table RESULTS.jsonl [--max-tokens N --short-tokens M]
      the side-by-side table of both engines, per shape, with the ratios and targets.
"""
import json
import re
import statistics
import sys
from collections import defaultdict

TIMING = re.compile(r"whisper_print_timings:\s+(\w+) time =\s*([0-9.]+) ms(?: /\s*(\d+) runs)?")


def parse_cli(log, audio_s, wall_s):
    t, runs = {}, {}
    with open(log, errors="replace") as f:
        for line in f:
            m = TIMING.search(line)
            if m:
                t[m.group(1)] = float(m.group(2))
                # whisper.cpp prints max(1, count): a stage that took no time ran 0 times.
                runs[m.group(1)] = int(m.group(3)) if m.group(3) and float(m.group(2)) > 0 else 0
    for k in ("load", "total", "encode", "decode", "sample"):
        if k not in t:
            sys.exit(f"whisper_bench_format: no '{k} time' line in {log} (did whisper-cli fail?)")
    audio_s, wall_s = float(audio_s), float(wall_s)
    proc = (t["total"] - t["load"]) / 1000
    windows = max(1, runs["encode"])
    tokens = runs["decode"] + windows  # + the first token of each window, from its prompt pass
    decode_ms = (t["decode"] + t["sample"]) / tokens
    print(json.dumps({"mode": "cli", "audio_s": audio_s, "proc_s": round(proc, 4), "rtf": round(proc / audio_s, 5),
                      "process_wall_s": round(wall_s, 3), "load_s": round(t["load"] / 1000, 3),
                      "windows": windows, "tokens": tokens, "tokens_per_window": round(tokens / windows, 1),
                      "encode_ms_per_window": round(t["encode"] / windows, 1),
                      "decode_ms_per_token": round(decode_ms, 3),
                      "other_ms_per_window": round((proc * 1000 - t["decode"] - t["sample"]) / windows, 1)}))


LOGFIELD = re.compile(r'"?(mel_ms|audio_encode_ms|text_decode_ms|audio_windows|audio_seconds|[a-z_]*tokens[a-z_]*)"?'
                      r'\s*[:=]\s*([0-9.eE+-]+)')


def parse_mmserve_log(log, requests):
    """The stage fields of mmserve's last REQUESTS transcription log lines (summed) as JSON:
    mel_ms, audio_encode_ms, text_decode_ms, audio_windows and any *tokens* field; {} if none."""
    with open(log, errors="replace") as f:
        lines = [x for x in f if "text_decode_ms" in x][-int(requests):]
    total = defaultdict(float)
    for x in lines:
        for k, v in LOGFIELD.findall(x):
            try:
                total["log_" + k] += float(v)
            except ValueError:
                pass
    print(json.dumps({k: round(v / max(1, len(lines)), 3) for k, v in total.items()}))


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}" if x < 1 else f"{x:.{digits}g}" if x < 10 else f"{x:.1f}"


def table(path, max_tokens, short_tokens):
    rows = [json.loads(x) for x in open(path) if x.startswith("{")]
    by = defaultdict(list)
    for r in rows:
        audio = r.get("audio_s") if r["mode"] in ("cli", "single") else None
        by[(r.get("shape"), r.get("engine"), r.get("precision"), r["mode"], audio, r.get("streams"),
            r.get("max_tokens"))].append(r)

    def med(key, field):
        v = [r[field] for r in by.get(key, []) if r.get(field) is not None]
        return statistics.median(v) if v else None

    shapes = sorted({r["shape"] for r in rows if r.get("shape")}, key=lambda s: ["tiny", "base"].index(s)
                    if s in ("tiny", "base") else 9)
    wtype = next((r.get("precision") for r in rows if r.get("engine") == "whisper.cpp"), "?")
    precs = sorted({r["precision"] for r in rows if r.get("engine") == "mmserve"})
    durs = sorted({r["audio_s"] for r in rows if r["mode"] in ("cli", "single")})
    streams = sorted({r["streams"] for r in rows if r["mode"] == "serve"})
    head = ["shape", "measure", f"whisper.cpp {wtype}"]
    for p in precs:
        head += [f"mmserve {p}", "ratio"]
    out = [head]
    verdicts = []
    for s in shapes:
        def line(measure, w, ms, target=None, better_low=True):
            row = [s, measure, fmt(w)]
            for p in precs:
                m = ms.get(p)
                ratio = m / w if (m is not None and w) else None
                row += [fmt(m), "-" if ratio is None else f"{ratio:.2f}"]
                if target is not None and ratio is not None:
                    ok = ratio <= target if better_low else ratio >= target
                    verdicts.append(f"{s} {measure}, mmserve {p} / whisper.cpp = {ratio:.2f} "
                                    f"(target {'<=' if better_low else '>='} {target}): {'MET' if ok else 'NOT MET'}")
            out.append(row)

        for d in durs:
            w = med((s, "whisper.cpp", wtype, "cli", d, None, None), "rtf")
            line(f"RTF {d:g} s audio, 1 request (lower is better)", w,
                 {p: med((s, "mmserve", p, "single", d, None, max_tokens), "rtf") for p in precs},
                 0.5 if d == min(durs) else None)
        for n in streams:
            w = med((s, "whisper.cpp", wtype, "serve", None, n, None), "throughput")
            line(f"audio s per s, {n} concurrent (higher is better)", w,
                 {p: med((s, "mmserve", p, "serve", None, n, max_tokens), "throughput") for p in precs},
                 4 if n == max(streams) else None, better_low=False)
        # Per-token decode and per-window rest: whisper.cpp from its own timings, mmserve from
        # two 30 s requests differing only in tokens per window (N and the short M).
        d0 = min(durs) if durs else None
        wcli = by.get((s, "whisper.cpp", wtype, "cli", d0, None, None), [])
        w_tok = statistics.median([r["tokens_per_window"] for r in wcli]) if wcli else None
        w_dec = med((s, "whisper.cpp", wtype, "cli", d0, None, None), "decode_ms_per_token")
        w_rest = med((s, "whisper.cpp", wtype, "cli", d0, None, None), "other_ms_per_window")
        m_tok, m_dec, m_rest = {}, {}, {}
        for p in precs:
            long_ = med((s, "mmserve", p, "single", d0, None, max_tokens), "wall_s")
            short = med((s, "mmserve", p, "single", d0, None, short_tokens), "wall_s")
            reported = med((s, "mmserve", p, "single", d0, None, max_tokens), "tokens")
            m_tok[p] = reported if reported is not None else None
            if long_ is not None and short is not None and max_tokens != short_tokens:
                windows = max(1, round(d0 / 30))
                dec = (long_ - short) * 1000 / (windows * (max_tokens - short_tokens))
                m_dec[p] = dec
                m_rest[p] = long_ * 1000 / windows - max_tokens * dec
        # mmserve's own stage timings, where its request log has them.
        w_enc = med((s, "whisper.cpp", wtype, "cli", d0, None, None), "encode_ms_per_window")
        m_enc, m_dec_log = {}, {}
        for p in precs:
            k = (s, "mmserve", p, "single", d0, None, max_tokens)
            win, enc, dec = med(k, "log_audio_windows"), med(k, "log_audio_encode_ms"), med(k, "log_text_decode_ms")
            toks = m_tok.get(p) or next((med(k, f) for f in ("log_tokens_decoded", "log_text_tokens", "log_tokens")
                                         if med(k, f)), None)
            if m_tok.get(p) is None and toks:
                m_tok[p] = toks
            if win and enc is not None:
                m_enc[p] = enc / win
            if win and dec is not None:
                m_dec_log[p] = dec / (toks or win * max_tokens)
        line(f"tokens per 30 s window (mmserve asked {max_tokens}; '-': not reported)", w_tok, m_tok)
        line("encoder ms per 30 s window (mmserve: its request log)", w_enc, m_enc)
        if m_dec_log:
            line("decode ms per token (mmserve: its request log)", w_dec, m_dec_log)
        line("decode ms per token (mmserve: 2 requests, N vs M tokens)", w_dec, m_dec)
        line("ms per window besides decoding (mel+encoder+prompt+rest)", w_rest, m_rest)
    widths = [max(len(str(r[i])) for r in out) for i in range(len(head))]
    for i, r in enumerate(out):
        print("  ".join(str(c).ljust(widths[j]) if j < 2 else str(c).rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if verdicts:
        print()
        print("\n".join(verdicts))
    elif not precs:
        print("\n(whisper.cpp only: no mmserve figures in this run)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "parse-cli":
        parse_cli(*sys.argv[2:5])
    elif len(sys.argv) == 4 and sys.argv[1] == "parse-mmserve-log":
        parse_mmserve_log(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "table":
        args = sys.argv[3:]
        opt = {args[i]: int(args[i + 1]) for i in range(0, len(args) - 1, 2)}
        table(sys.argv[2], opt.get("--max-tokens", 220), opt.get("--short-tokens", 55))
    else:
        sys.exit(__doc__)
