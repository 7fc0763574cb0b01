#!/usr/bin/python3
"""HTTP client of bench/run_whisper_bench.sh: one JSON line per measurement.

  whisper_bench_client.py --url URL --api mmserve|whispercpp --audio F.wav --max-tokens N single --repeats R
      R requests one after another (after one untimed warm-up request); wall seconds of
      each, the median's real-time factor (processing seconds / audio seconds).
  whisper_bench_client.py ... serve --streams S --requests R
      R requests through S concurrent connections (each sends its next request as soon as
      its previous answer is in); audio seconds processed per wall second, latency p50/max.

Both APIs get the same decoding settings: greedy (temperature 0), no temperature fallback,
no timestamps, English, no previous-text prompt, response_format json.
  mmserve    POST /v1/audio/transcriptions, OpenAI's form fields plus max_tokens_per_window=N
             and ignore_eot=true (N tokens decoded per 30 s window, end-of-text ignored).
  whispercpp whisper-server's POST /inference (its own field names; beam_size/best_of 1).
             It cannot ignore end-of-text or cap tokens per window: with random weights it
             never samples end-of-text and decodes its maximum, 220 tokens per window (see
             the run script's header).
Python's standard library only.
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
import wave


def form(fields, audio_name, audio):
    boundary = "----whisperbench" + uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{audio_name}"\r\n'
                 f"Content-Type: audio/wav\r\n\r\n".encode() + audio + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request_fields(api, model, max_tokens):
    if api == "mmserve":
        return "/v1/audio/transcriptions", {
            "model": model, "language": "en", "response_format": "json", "temperature": "0",
            "temperature_increment_on_fallback": "0", "without_timestamps": "true",
            "condition_on_previous_text": "false", "max_tokens_per_window": str(max_tokens), "ignore_eot": "true"}
    return "/inference", {
        "language": "en", "response_format": "json", "temperature": "0", "temperature_inc": "0",
        "no_timestamps": "true", "no_context": "true", "max_context": "0", "beam_size": "1", "best_of": "1"}


def tokens_of(answer):
    """Tokens decoded, where the answer says: usage.output_tokens, or segments' token lists."""
    usage = answer.get("usage") or {}
    for k in ("output_tokens", "completion_tokens", "tokens"):
        if isinstance(usage.get(k), int):
            return usage[k]
    segs = answer.get("segments")
    if isinstance(segs, list) and segs and all(isinstance(s.get("tokens"), list) for s in segs):
        return sum(len(s["tokens"]) for s in segs)
    return None


class Client:
    def __init__(self, a):
        u = urllib.parse.urlparse(a.url)
        self.host, self.port = u.hostname, u.port
        with open(a.audio, "rb") as f:
            self.audio = f.read()
        with wave.open(a.audio) as w:
            self.audio_s = w.getnframes() / w.getframerate()
        self.path, fields = request_fields(a.api, a.model, a.max_tokens)
        self.body, self.ctype = form(fields, a.audio.rsplit("/", 1)[-1], self.audio)

    def one(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
        t0 = time.perf_counter()
        conn.request("POST", self.path, body=self.body, headers={"Content-Type": self.ctype})
        r = conn.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        conn.close()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {data[:300]!r}")
        try:
            answer = json.loads(data)
        except ValueError:
            raise RuntimeError(f"not JSON: {data[:300]!r}")
        if "text" not in answer:
            raise RuntimeError(f"no text in the answer: {data[:300]!r}")
        return dt, tokens_of(answer), len(answer["text"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--api", choices=["mmserve", "whispercpp"], required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--model", default="whisper")
    ap.add_argument("--max-tokens", type=int, default=220)
    ap.add_argument("--warmup", type=int, default=1)
    sub = ap.add_subparsers(dest="mode", required=True)
    s1 = sub.add_parser("single")
    s1.add_argument("--repeats", type=int, default=1)
    s2 = sub.add_parser("serve")
    s2.add_argument("--streams", type=int, required=True)
    s2.add_argument("--requests", type=int, required=True)
    a = ap.parse_args()
    c = Client(a)
    for _ in range(a.warmup):
        c.one()
    base = {"mode": a.mode, "audio_s": round(c.audio_s, 3)}
    if a.api == "mmserve":
        base["max_tokens"] = a.max_tokens  # whisper-server has no such setting (see above)
    if a.mode == "single":
        runs = [c.one() for _ in range(a.repeats)]
        walls = [r[0] for r in runs]
        wall = statistics.median(walls)
        print(json.dumps(dict(base, wall_s=round(wall, 4), walls_s=[round(w, 4) for w in walls],
                              rtf=round(wall / c.audio_s, 5), tokens=runs[0][1], text_chars=runs[0][2])))
        return
    lock, done, errors = threading.Lock(), [], []
    left = [a.requests]

    def worker():
        while True:
            with lock:
                if left[0] == 0 or errors:
                    return
                left[0] -= 1
            try:
                r = c.one()
            except Exception as e:  # noqa: BLE001 (reported below)
                with lock:
                    errors.append(str(e))
                return
            with lock:
                done.append(r)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(a.streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        sys.exit(f"whisper_bench_client: {len(errors)} request(s) failed: {errors[0]}")
    lat = sorted(r[0] for r in done)
    print(json.dumps(dict(base, streams=a.streams, requests=len(done), wall_s=round(wall, 3),
                          throughput=round(len(done) * c.audio_s / wall, 3),
                          latency_p50_s=round(statistics.median(lat), 3), latency_max_s=round(lat[-1], 3),
                          tokens=done[0][1])))


if __name__ == "__main__":
    main()
