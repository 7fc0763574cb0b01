#!/usr/bin/python3
"""Time one vision-language conversation against mmserve's OpenAI chat API (stdlib only).

For each repeat: a first turn (one image + a question) and a second turn on the same image
(the first answer + a new question), both streamed, greedy, a fixed number of generated
tokens, end-of-sequence ignored. The image's bytes get a per-repeat suffix after the PNG's
end, so every repeat's first turn encodes and prefills from scratch (no feature or prefix
cache can help it) while its second turn may use both. Prints one JSON line per turn:
  {"repeat", "turn", "ttft_ms", "image_encode_ms", "images_cached", "prefill_ms",
   "decode_tok_s", "prompt_tokens", "completion_tokens"}
image_encode_ms (fetching, decoding, encoding or the cache lookup) comes from the server's
request log line, found by the X-Request-ID this client sends; prefill_ms = ttft - that.
"""
import argparse
import base64
import json
import sys
import time
import urllib.request

QUESTIONS = [
    "Describe everything you can see in this picture in detail, including the colours, the objects, "
    "the people and what they might be doing right now.",
    "Now tell me which of those objects is the largest one, where exactly it stands in the picture, "
    "and why you think it was placed there.",
]


def stream_chat(url, model, messages, gen, request_id):
    body = json.dumps({"model": model, "messages": messages, "max_tokens": gen, "temperature": 0,
                       "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json", "X-Request-ID": request_id})
    start = time.perf_counter()
    first = last = None
    text, usage = "", {}
    with urllib.request.urlopen(req, timeout=1800) as res:
        for raw in res:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices", []):
                piece = choice.get("delta", {}).get("content")
                if piece:
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    text += piece
    return start, first, last, text, usage


def log_fields(log_path, request_id):
    """The fields of the server's log line for request_id (the last one written)."""
    for _ in range(50):
        with open(log_path, errors="replace") as f:
            for line in reversed(f.readlines()):
                if request_id in line and line.startswith("{"):
                    j = json.loads(line)
                    if j.get("request_id") == request_id and "status" in j:
                        return j
        time.sleep(0.1)
    return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", default="llava")
    ap.add_argument("--image", required=True)
    ap.add_argument("--server-log", required=True)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    png = open(a.image, "rb").read()
    for r in range(a.repeats + 1):  # repeat 0 warms up (first-call allocations, oneDNN kernels)
        image = png + b"bench-%d-%f" % (r, time.time())
        url = "data:image/png;base64," + base64.b64encode(image).decode()
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                  {"type": "text", "text": QUESTIONS[0]}]}]
        for turn in (1, 2):
            rid = f"llava-bench-{r}-{turn}-{time.time_ns()}"
            start, first, last, text, usage = stream_chat(a.url, a.model, messages, a.gen, rid)
            fields = log_fields(a.server_log, rid)
            ttft = (first - start) * 1000
            encode = float(fields.get("image_encode_ms", 0))
            n = usage.get("completion_tokens", 0)
            out = {"repeat": r, "warmup": r == 0, "turn": turn, "ttft_ms": round(ttft, 1),
                   "image_encode_ms": round(encode, 1), "images_cached": fields.get("images_cached"),
                   "prefill_ms": round(ttft - encode, 1),
                   "decode_tok_s": round((n - 1) / (last - first), 2) if n > 1 and last > first else None,
                   "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": n}
            print(json.dumps(out), flush=True)
            messages = messages + [{"role": "assistant", "content": text},
                                   {"role": "user", "content": QUESTIONS[1]}]


if __name__ == "__main__":
    sys.exit(main())
