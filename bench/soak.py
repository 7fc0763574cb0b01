#!/usr/bin/env python3
"""Mixed valid and hostile traffic against a running mmserve, for a set time, with the
server's resident memory sampled as it goes (bench/soak.sh starts the server and calls
this). Prints one JSON report: requests by kind and status, unanswered valid requests,
and RSS samples; the verdict compares RSS after warm-up with RSS at the end.

Standard library only (Debian's python3)."""

import argparse
import base64
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Traffic:
    def __init__(self, host, port, image_path, key):
        self.host, self.port = host, port
        self.image = open(image_path, "rb").read()
        self.image_b64 = base64.b64encode(self.image).decode()
        self.key = key
        self.lock = threading.Lock()
        self.counts = {}
        self.unanswered_valid = 0

    def count(self, kind, status):
        with self.lock:
            self.counts.setdefault(kind, {}).setdefault(str(status), 0)
            self.counts[kind][str(status)] += 1

    def headers(self, extra=None):
        h = {"Content-Type": "application/json"}
        if self.key:
            h["Authorization"] = "Bearer " + self.key
        h.update(extra or {})
        return h

    def http(self, kind, method, path, body=None, headers=None, valid=False, timeout=60):
        req = urllib.request.Request(f"http://{self.host}:{self.port}{path}", data=body, method=method,
                                     headers=headers if headers is not None else self.headers())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                r.read()
                self.count(kind, r.status)
        except urllib.error.HTTPError as e:
            e.read()
            self.count(kind, e.code)
        except Exception as e:  # no answer at all
            self.count(kind, "no answer: " + type(e).__name__)
            if valid:
                with self.lock:
                    self.unanswered_valid += 1

    def raw(self, kind, data, hold=0.0, read=True):
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as s:
                s.sendall(data)
                if hold:
                    time.sleep(hold)
                status = "closed"
                if read:
                    reply = s.recv(64)
                    status = reply[9:12].decode() if reply.startswith(b"HTTP/1.1 ") else "closed"
                self.count(kind, status)
        except Exception as e:
            self.count(kind, "error: " + type(e).__name__)

    # --- valid requests ---
    def predict(self):
        boundary = "soakboundary%08x" % random.getrandbits(32)
        texts = json.dumps(["a cat", "a dog", "label %d" % random.randint(0, 50)])
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + self.image + (
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"texts\"\r\n\r\n{texts}\r\n"
                f"--{boundary}--\r\n").encode()
        self.http("predict", "POST", "/predict", body,
                  self.headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}), valid=True)

    def kserve(self):
        body = {"inputs": [{"name": "IMAGE", "datatype": "BYTES", "shape": [1], "data": [self.image_b64]},
                           {"name": "TEXT", "datatype": "BYTES", "shape": [2],
                            "data": ["a photo %d" % random.randint(0, 1000), "a dog"]}]}
        self.http("kserve_infer", "POST", "/v2/models/clip/infer", json.dumps(body).encode(), valid=True)

    def embeddings(self):
        body = {"model": "clip", "input": ["text %d" % random.randint(0, 100000), "a cat"]}
        self.http("embeddings", "POST", "/v1/embeddings", json.dumps(body).encode(), valid=True)

    def health(self):
        self.http("health", "GET", "/v2/health/live", headers={}, valid=True, timeout=5)

    # --- hostile requests ---
    def deep_json(self):
        body = '{"model":"clip","input":"a","encoding_format":' + "[" * 100000 + "]" * 100000 + "}"
        self.http("hostile_deep_json", "POST", "/v1/embeddings", body.encode())

    def gzip_body(self):
        self.http("hostile_gzip", "POST", "/v1/embeddings", b"\x1f\x8b" + os.urandom(2000),
                  self.headers({"Content-Encoding": "gzip"}))

    def bad_utf8(self):
        body = json.dumps({"model": "clip", "input": "x"}).encode().replace(b'"x"', b'"\xc3\x28\x80"')
        self.http("hostile_bad_utf8", "POST", "/v1/embeddings", body)

    def many_images(self):
        gif = base64.b64encode(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00"
                               b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;").decode()
        body = {"inputs": [{"name": "IMAGE", "datatype": "BYTES", "shape": [2000], "data": [gif] * 2000}]}
        self.http("hostile_many_images", "POST", "/v2/models/clip/infer", json.dumps(body).encode())

    def garbage_image(self):
        body = {"model": "clip", "input": [{"type": "image", "image": base64.b64encode(os.urandom(5000)).decode()}]}
        self.http("hostile_garbage_image", "POST", "/v1/embeddings", json.dumps(body).encode())

    def big_chunked(self):
        head = (f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                f"Content-Type: application/json\r\n\r\n").encode()
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as s:
                s.sendall(head)
                for _ in range(2000):  # up to 128 MB, stopped by the answer
                    s.sendall(chunk)
                s.settimeout(5)
                reply = s.recv(64)
                self.count("hostile_big_chunked", reply[9:12].decode() if reply else "closed")
        except (BrokenPipeError, ConnectionResetError):
            self.count("hostile_big_chunked", "closed early")
        except Exception as e:
            self.count("hostile_big_chunked", "error: " + type(e).__name__)

    def slow_headers(self):
        self.raw("hostile_slow_headers", b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n", hold=0.0)

    def bad_key(self):
        self.http("hostile_bad_key", "GET", "/v1/models", headers={"Authorization": "Bearer guessed"})

    def malformed(self):
        self.raw("hostile_malformed", b"\x16\x03\x01garbage that is no request\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--image", default="tests/data/clip-reference/images/chelsea_q90.jpg")
    ap.add_argument("--key", default="")
    a = ap.parse_args()

    t = Traffic("127.0.0.1", a.port, a.image, a.key)
    valid = [t.predict, t.kserve, t.embeddings, t.health]
    hostile = [t.deep_json, t.gzip_body, t.bad_utf8, t.many_images, t.garbage_image, t.big_chunked,
               t.slow_headers, t.bad_key, t.malformed]
    end = time.time() + a.seconds

    def client(seed):
        rng = random.Random(seed)
        while time.time() < end:
            (rng.choice(hostile) if rng.random() < 0.3 else rng.choice(valid))()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for th in threads:
        th.start()
    start = time.time()
    samples = []
    while time.time() < end:
        samples.append({"t": round(time.time() - start, 1), "rss_kb": rss_kb(a.pid)})
        time.sleep(min(10, max(0.1, end - time.time())))
    for th in threads:
        th.join()
    samples.append({"t": round(time.time() - start, 1), "rss_kb": rss_kb(a.pid)})
    after_warmup = [s["rss_kb"] for s in samples if s["t"] >= a.warmup]
    report = {
        "seconds": a.seconds, "clients": a.clients, "counts": t.counts, "unanswered_valid": t.unanswered_valid,
        "rss_kb_after_warmup": after_warmup[0] if after_warmup else None,
        "rss_kb_max_after_warmup": max(after_warmup) if after_warmup else None,
        "rss_kb_end": samples[-1]["rss_kb"], "samples": samples,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
