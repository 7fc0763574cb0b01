#!/usr/bin/python3
"""Measures a generation server through its HTTP API, the same way for mmserve and llama-server.

  llama_bench_client.py --url http://127.0.0.1:PORT --api mmserve|llamacpp --model NAME MODE ...

Modes (one JSON line per measurement on stdout; progress on stderr):
  prompt  --tokens 128 [--repeats 3]
          time to first token of a max_tokens=1 streamed request whose prompt is that many
          token ids -> prompt tokens/s = tokens / TTFT (median over repeats)
  decode  --tokens 128 [--prompt-tokens 16] [--repeats 2]
          one stream, greedy, ignore_eos: generated tokens/s from the first to the last
          streamed token = (tokens - 1) / (t_last - t_first) (median over repeats)
  serve   --streams 16 --prompt-tokens 128 --gen-tokens 64 [--min-requests 4]
          N concurrent streams (a closed loop: each stream sends its next request when the
          last one ends, until every stream sent ceil(min_requests / N)): total generated
          tokens/s over the wall time, TTFT p50/p99 (nearest rank) over every request

Prompts are seeded random token ids (BOS first, then ids in [100, 31000)), different for
every request of a run (a salt per run), so that neither server's prefix/prompt cache can
reuse a previous request's work. llama-server also gets "cache_prompt": false.

Both servers stream one event per generated token: llama-server does so by itself;
mmserve holds back text that is not yet whole UTF-8 (random weights sample byte tokens),
so its requests ask for "logprobs": 0, which makes every token an event (the sampled
token's log-probability only: one log-softmax over the vocabulary per token).
Standard library only (Debian's python3).
"""
import argparse
import http.client
import json
import math
import random
import statistics
import sys
import threading
import time
import urllib.parse

BOS = 1


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def seed(*parts):
    """A deterministic seed from the parts (random.Random hashes a str seed with SHA-512)."""
    return "/".join(str(p) for p in parts)


def make_prompt(n, seed):
    rng = random.Random(seed)
    return [BOS] + [rng.randrange(100, 31000) for _ in range(n - 1)]


class Target:
    def __init__(self, url, api, model, timeout):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.api, self.model, self.timeout = api, model, timeout

    def body(self, prompt, max_tokens):
        if self.api == "mmserve":
            return "/v1/completions", {
                "model": self.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                "ignore_eos": True, "stream": True, "logprobs": 0,
                "stream_options": {"include_usage": True}}
        return "/completion", {
            "prompt": prompt, "n_predict": max_tokens, "temperature": 0, "ignore_eos": True,
            "stream": True, "cache_prompt": False}

    def generate(self, prompt, max_tokens):
        """One streamed request -> {t0, ttft, token_times (seconds after t0), tokens, end}."""
        path, body = self.body(prompt, max_tokens)
        data = json.dumps(body).encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        t0 = time.perf_counter()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"{self.api} {path}: HTTP {resp.status}: {resp.read()[:300]!r}")
        times, count, reported = [], 0, None
        while True:
            line = resp.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                break
            now = time.perf_counter() - t0
            ev = json.loads(payload)
            if "error" in ev:
                raise RuntimeError(f"{self.api}: error event {payload[:300]!r}")
            n = self.tokens_in(ev)
            if n:
                count += n
                times.extend([now] * n)
            if self.api == "mmserve" and ev.get("usage"):
                reported = ev["usage"].get("completion_tokens")
            if self.api == "llamacpp" and ev.get("stop"):
                reported = ev.get("tokens_predicted")
                break
        conn.close()
        end = time.perf_counter() - t0
        if reported is not None and reported != count:
            # A merged event (several tokens in one) would skew per-token times: say so.
            log(f"warning: {self.api} streamed {count} token events but reports {reported} tokens")
            count = reported
        if not times:
            raise RuntimeError(f"{self.api}: the stream ended without a token")
        return {"t0": t0, "ttft": times[0], "times": times, "tokens": count, "end": end}

    def tokens_in(self, ev):
        if self.api == "mmserve":
            n = 0
            for c in ev.get("choices") or []:
                lp = c.get("logprobs")
                if lp and lp.get("tokens") is not None:
                    n += len(lp["tokens"])
                elif c.get("text"):
                    n += 1
            return n
        if ev.get("stop"):
            return 0  # the final event repeats no token in streaming mode
        return 1


def run_prompt(t, args, salt):
    ttfts = []
    for r in range(args.repeats + 1):  # the first one warms up
        res = t.generate(make_prompt(args.tokens, seed(salt, "p", args.tokens, r)), 1)
        if r > 0:
            ttfts.append(res["ttft"])
    med = statistics.median(ttfts)
    return {"mode": "prompt", "tokens": args.tokens, "ttft_s": med, "ttfts": ttfts,
            "tok_s": args.tokens / med}


def run_decode(t, args, salt):
    rates = []
    t.generate(make_prompt(args.prompt_tokens, seed(salt, "dw")), 8)  # warm-up
    for r in range(args.repeats):
        res = t.generate(make_prompt(args.prompt_tokens, seed(salt, "d", r)), args.tokens)
        span = res["times"][-1] - res["times"][0]
        if res["tokens"] < 2 or span <= 0:
            raise RuntimeError(f"decode: {res['tokens']} tokens in {span:.3f} s")
        rates.append((res["tokens"] - 1) / span)
    return {"mode": "decode", "tokens": args.tokens, "prompt_tokens": args.prompt_tokens,
            "tok_s": statistics.median(rates), "rates": rates}


def percentile(values, p):
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def run_serve(t, args, salt):
    per_stream = max(1, -(-args.min_requests // args.streams))
    t.generate(make_prompt(16, seed(salt, "sw")), 4)  # warm-up
    results, errors = [], []
    lock = threading.Lock()

    def stream(i):
        try:
            for r in range(per_stream):
                res = t.generate(make_prompt(args.prompt_tokens, seed(salt, "s", args.streams, i, r)),
                                 args.gen_tokens)
                with lock:
                    results.append(res)
        except Exception as e:  # reported after the join
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(args.streams)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"serve: {len(errors)} streams failed, first: {errors[0]}")
    total = sum(r["tokens"] for r in results)
    ttfts = [r["ttft"] for r in results]
    return {"mode": "serve", "streams": args.streams, "requests": len(results), "prompt_tokens": args.prompt_tokens,
            "gen_tokens": args.gen_tokens, "wall_s": wall, "total_tok_s": total / wall,
            "ttft_p50_s": percentile(ttfts, 50), "ttft_p99_s": percentile(ttfts, 99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--api", choices=["mmserve", "llamacpp"], required=True)
    ap.add_argument("--model", default="tinyllama")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--salt", default=str(time.time_ns()), help="varies the prompts between runs")
    ap.add_argument("--tag", default="{}", help="JSON object merged into every output line")
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("prompt")
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    d = sub.add_parser("decode")
    d.add_argument("--tokens", type=int, default=128)
    d.add_argument("--prompt-tokens", type=int, default=16)
    d.add_argument("--repeats", type=int, default=2)
    s = sub.add_parser("serve")
    s.add_argument("--streams", type=int, default=16)
    s.add_argument("--prompt-tokens", type=int, default=128)
    s.add_argument("--gen-tokens", type=int, default=64)
    s.add_argument("--min-requests", type=int, default=4)
    args = ap.parse_args()
    for name in ("tokens", "prompt_tokens", "gen_tokens", "streams", "repeats"):
        if getattr(args, name, 1) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    t = Target(args.url, args.api, args.model, args.timeout)
    run = {"prompt": run_prompt, "decode": run_decode, "serve": run_serve}[args.mode]
    out = run(t, args, args.salt)
    out.update(json.loads(args.tag))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
