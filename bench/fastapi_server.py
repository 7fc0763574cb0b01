#!/usr/bin/python3
"""Reference CLIP server for the end-to-end benchmark: FastAPI + uvicorn + PyTorch.

  /usr/bin/python3 bench/fastapi_server.py --model bench/out/vit-b-32 --port 18200 --threads 2
  /usr/bin/python3 bench/fastapi_server.py --model model_repository/clip/1 --check

The server a Python user would write around the same checkpoint folder, exposing mmserve's
POST /predict: a multipart form with an "image" file and a "texts" field holding a JSON list
of strings; the answer is {"status": "success", "results": [{"text", "score"}, ...]}, the
softmax over the texts of logit_scale x cosine(image, text), highest first. GET /health
answers {"status": "healthy"}.

  model          bench/torch_clip.py's plain PyTorch CLIP, eager, fp32 (--precision as there)
  preprocessing  CLIP's, in PIL: convert to RGB, resize the shortest edge to 224 (bicubic),
                 centre crop, scale to [0, 1], normalise by the checkpoint's mean and std
                 (preprocessor_config.json): transformers' CLIPImageProcessor steps
  tokenizer      CLIP's byte-level BPE (vocab.json, merges.txt): HTML unescaping, whitespace
                 clean-up, lower case, start/end markers, 77 tokens at most. Without ftfy and
                 the regex module (not used here), exotic Unicode text may split differently
                 from mmserve's; plain labels tokenize identically (--check tests that).
  concurrency    one uvicorn worker; requests are parsed and preprocessed on FastAPI's thread
                 pool, the model runs one request at a time (a lock) with --threads threads,
                 so that concurrent requests do not oversubscribe the cores. No batching
                 across requests.

--check compares the tokenizer, the pixels and the scores with tests/data/clip-reference/
golden.json (made with transformers on model_repository/clip/1) and exits, serving nothing.
Needs Debian's python3-torch, python3-numpy, python3-pil, python3-fastapi, python3-uvicorn and
python3-multipart; use /usr/bin/python3.
"""
import argparse
import functools
import html
import io
import json
import os
import re
import sys
import threading

BOS, EOS, CONTEXT = 49406, 49407, 77
UNMERGEABLE = 1 << 30


# ---- tokenizer ---------------------------------------------------------------------------

@functools.lru_cache()
def byte_alphabet():
    """Byte -> printable character, the byte-level BPE alphabet (as in GPT-2 and CLIP)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# Words, single digits and runs of other non-space characters; the literal markers first.
# CLIP's pattern uses \p{L} and \p{N}: [^\W\d_] (letters) and \d are the stdlib's nearest.
WORDS = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                   re.IGNORECASE)


class ClipTokenizer:
    def __init__(self, folder):
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            lines = [l for l in f.read().split("\n") if l and not l.startswith("#version")]
        self.rank = {tuple(l.split()): i for i, l in enumerate(lines)}
        self.bytes = byte_alphabet()
        self.cache = {}

    def bpe(self, word):
        """Merges of one word's characters (its last marked as the word's end, </w>), lowest rank first."""
        if word in self.cache:
            return self.cache[word]
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            rank, pair = min((self.rank.get(p, UNMERGEABLE), p) for p in zip(parts, parts[1:]))
            if rank == UNMERGEABLE:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == pair:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for word in WORDS.findall(text):
            if word in ("<|startoftext|>", "<|endoftext|>"):  # the markers, written out in the text
                ids.append(self.vocab[word])
                continue
            chars = "".join(self.bytes[b] for b in word.encode("utf-8"))
            ids += [self.vocab[p] for p in self.bpe(chars)]
        return [BOS] + ids[:CONTEXT - 2] + [EOS]


# ---- preprocessing -----------------------------------------------------------------------

class Preprocessor:
    def __init__(self, folder):
        with open(os.path.join(folder, "preprocessor_config.json")) as f:
            c = json.load(f)
        size = c.get("size", 224)
        self.short = size["shortest_edge"] if isinstance(size, dict) else size
        crop = c.get("crop_size", self.short)
        self.crop = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
        self.mean, self.std = c["image_mean"], c["image_std"]
        self.scale = c.get("rescale_factor", 1 / 255)
        self.resample = c.get("resample", 3)  # PIL's BICUBIC

    def __call__(self, data):
        import numpy as np
        from PIL import Image
        image = Image.open(io.BytesIO(data))
        image = image.convert("RGB")
        w, h = image.size
        # Shortest edge to `short`, the other in proportion (truncated), as transformers does.
        if w <= h:
            size = (self.short, int(self.short * h / w))
        else:
            size = (int(self.short * w / h), self.short)
        image = image.resize(size, resample=self.resample)
        x = np.asarray(image, dtype=np.float32)  # [H, W, 3]
        ch, cw = self.crop
        top, left = (x.shape[0] - ch) // 2, (x.shape[1] - cw) // 2
        x = x[max(top, 0):max(top, 0) + ch, max(left, 0):max(left, 0) + cw]
        x = (x * np.float32(self.scale) - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))  # [3, H, W]


# ---- model ---------------------------------------------------------------------------------

class Classifier:
    def __init__(self, folder, precision):
        import torch
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_clip
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        weights = torch_clip.load_safetensors(os.path.join(folder, "model.safetensors"))
        self.logit_scale = float(weights["logit_scale"].float().exp())
        model = torch_clip.Clip(cfg).load_hf(weights).eval()
        self.model, self.context = torch_clip.prepare(model, precision)
        self.tokenizer = ClipTokenizer(folder)
        self.preprocess = Preprocessor(folder)
        self.torch = torch
        self.lock = threading.Lock()

    def scores(self, pixels, texts):
        torch = self.torch
        ids = [self.tokenizer.encode(t) for t in texts]
        width = max(len(s) for s in ids)
        batch = torch.zeros(len(ids), width, dtype=torch.int64)  # padded after the end marker
        for i, s in enumerate(ids):
            batch[i, :len(s)] = torch.tensor(s)
        with self.lock, torch.inference_mode(), self.context():
            image = self.model.encode_image(torch.from_numpy(pixels)[None]).float()
            text = self.model.encode_text(batch).float()
        image = image / image.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        probs = (self.logit_scale * image @ text.T).softmax(-1)[0].tolist()
        return sorted(zip(texts, probs), key=lambda p: -p[1])


def make_app(clf):
    from fastapi import FastAPI, File, Form, UploadFile
    from fastapi.responses import JSONResponse

    app = FastAPI(title="CLIP reference server (PyTorch)")

    def error(status, message):
        return JSONResponse({"status": "error", "message": message}, status_code=status)

    @app.get("/health")
    def health():
        return {"status": "healthy"}

    # A plain `def`: FastAPI runs it on its thread pool, so requests decode in parallel.
    @app.post("/predict")
    def predict(image: UploadFile = File(...), texts: str = Form(...)):
        try:
            labels = json.loads(texts)
        except ValueError:
            return error(400, 'field "texts" is not valid JSON; expected a list of strings')
        if not isinstance(labels, list) or not labels or not all(isinstance(t, str) for t in labels):
            return error(400, 'field "texts" must be a non-empty JSON list of strings')
        try:
            pixels = clf.preprocess(image.file.read())
        except Exception as e:  # PIL raises several types for undecodable data
            return error(415, f"cannot decode the image: {e}")
        results = [{"text": t, "score": s} for t, s in clf.scores(pixels, labels)]
        return {"status": "success", "results": results}

    return app


# ---- self-check against the golden file ----------------------------------------------------

def check(clf, golden_path):
    import numpy as np
    ref_dir = os.path.dirname(golden_path)
    g = json.load(open(golden_path))
    ok = True
    ascii_texts = [t for t in g["texts"] if t["text"].isascii()]
    same = [t["name"] for t in g["texts"] if clf.tokenizer.encode(t["text"]) == t["ids"]]
    bad_ascii = [t["name"] for t in ascii_texts if t["name"] not in same]
    print(f"tokenizer: {len(same)}/{len(g['texts'])} golden texts identical"
          f" ({len(ascii_texts) - len(bad_ascii)}/{len(ascii_texts)} of the ASCII ones)"
          + (f"; differ: {', '.join(t['name'] for t in g['texts'] if t['name'] not in same)}" if len(same) < len(g["texts"]) else ""))
    ok &= not bad_ascii
    worst_px, worst_p = 0.0, 0.0
    labels = g["labels"]
    for im in g["images"]:
        data = open(os.path.join(ref_dir, im["file"]), "rb").read()
        px = clf.preprocess(data)
        ref = np.load(os.path.join(ref_dir, im["hf"]["pixels"])).reshape(px.shape)
        worst_px = max(worst_px, float(np.abs(px - ref).max()))
        got = dict(clf.scores(px, labels))
        worst_p = max(worst_p, max(abs(got[l] - p) for l, p in zip(labels, im["hf"]["probs"])))
    print(f"pixels: max |difference| to transformers' {worst_px:.2e} over {len(g['images'])} images")
    print(f"scores: max |difference| to transformers' {worst_p:.2e}")
    ok &= worst_px < 1e-4 and worst_p < 1e-4
    print("check:", "pass" if ok else "FAIL")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF-layout CLIP checkpoint folder")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    ap.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32")
    ap.add_argument("--log-level", default="warning")
    ap.add_argument("--check", action="store_true", help="compare with the golden file and exit")
    ap.add_argument("--golden", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                                     "clip-reference", "golden.json"))
    a = ap.parse_args()
    # Before torch starts: threads that are not Python's main one take OpenMP's default.
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    try:
        import fastapi  # noqa: F401
        import multipart  # noqa: F401
        import PIL  # noqa: F401
        import torch
        import uvicorn
    except ImportError as e:
        sys.exit(f"fastapi_server: {e.name} is missing (apt-get install python3-fastapi python3-uvicorn "
                 "python3-multipart python3-pil python3-torch, or MMSERVE_WITH_BENCH=1 scripts/setup.sh)")
    torch.set_num_threads(a.threads)
    clf = Classifier(a.model, a.precision)
    if a.check:
        sys.exit(0 if check(clf, a.golden) else 1)
    print(f"fastapi_server: {a.model} ({a.precision}, {a.threads} threads) on http://{a.host}:{a.port}", file=sys.stderr)
    uvicorn.run(make_app(clf), host=a.host, port=a.port, log_level=a.log_level, workers=1)


if __name__ == "__main__":
    main()
