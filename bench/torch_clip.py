#!/usr/bin/python3
"""Plain-PyTorch CLIP reading a Hugging Face-layout checkpoint folder: mmserve's peer.

  --embed --pixels x.npy --ids '[[49406, ..., 49407]]'   print {"image_embeds":..,"text_embeds":..}
  --bench --enc image|text --batches 1 8 32 --threads 2   one JSON line per batch size

Embeddings are the projected, unnormalised features (HF get_image_features /
get_text_features). Only torch and numpy are needed, so it runs wherever
Debian's python3-torch does; no transformers.
"""
import argparse
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BOS, EOS = 49406, 49407
SHORT_IDS = [BOS, 320, 1125, 539, 320, 1929, EOS]  # "a photo of a dog"


def load_safetensors(path):
    """name -> float32 (or int64) torch tensor. Parsed by hand: 8-byte LE header size, JSON header, raw data."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = struct.unpack("<Q", raw[:8].tobytes())[0]
    header = json.loads(raw[8:8 + n].tobytes())
    header.pop("__metadata__", None)
    base, out = 8 + n, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        buf = raw[base + b:base + e]
        dt = info["dtype"]
        if dt == "BF16":  # numpy has no bfloat16: widen the bits to float32
            arr = (buf.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = buf.view({"F32": np.float32, "F16": np.float16, "I64": np.int64}[dt])
            arr = arr.astype(np.float32) if dt != "I64" else arr.copy()
        out[name] = torch.from_numpy(np.array(arr).reshape(info["shape"]))
    return out


def activation(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return F.gelu
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    raise ValueError(f"unsupported hidden_act {name}")


class EncoderLayer(nn.Module):
    """Pre-LN transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, d, heads, mlp, act, eps):
        super().__init__()
        self.heads, self.act = heads, act
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def attention(self, x, mask):
        b, t, d = x.shape
        hd = d // self.heads
        split = lambda y: y.view(b, t, self.heads, hd).transpose(1, 2)  # [b, heads, t, hd]
        q, k, v = split(self.q(x) * hd ** -0.5), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        ctx = scores.softmax(-1) @ v
        return self.o(ctx.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, mask=None):
        x = x + self.attention(self.ln1(x), mask)
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


def make_layers(c):
    act = activation(c.get("hidden_act", "quick_gelu"))
    return nn.ModuleList(EncoderLayer(c["hidden_size"], c["num_attention_heads"], c["intermediate_size"],
                                      act, c.get("layer_norm_eps", 1e-5)) for _ in range(c["num_hidden_layers"]))


class Clip(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t, proj = cfg["vision_config"], cfg["text_config"], cfg["projection_dim"]
        vd, td, p = v["hidden_size"], t["hidden_size"], v["patch_size"]
        n_pos = (v["image_size"] // p) ** 2 + 1
        # vision tower
        self.patch = nn.Conv2d(3, vd, p, stride=p, bias=False)
        self.cls = nn.Parameter(torch.zeros(vd))
        self.vpos = nn.Parameter(torch.zeros(n_pos, vd))
        self.pre_ln = nn.LayerNorm(vd, eps=v.get("layer_norm_eps", 1e-5))
        self.vlayers = make_layers(v)
        self.post_ln = nn.LayerNorm(vd, eps=v.get("layer_norm_eps", 1e-5))
        self.vproj = nn.Linear(vd, proj, bias=False)
        # text tower
        self.tok = nn.Embedding(t["vocab_size"], td)
        self.tpos = nn.Parameter(torch.zeros(t["max_position_embeddings"], td))
        self.tlayers = make_layers(t)
        self.final_ln = nn.LayerNorm(td, eps=t.get("layer_norm_eps", 1e-5))
        self.tproj = nn.Linear(td, proj, bias=False)

    def load_hf(self, sd):
        """Copy an HF CLIPModel state dict in; every parameter must be found."""
        names = {"patch.weight": "vision_model.embeddings.patch_embedding.weight",
                 "cls": "vision_model.embeddings.class_embedding",
                 "vpos": "vision_model.embeddings.position_embedding.weight",
                 "pre_ln": "vision_model.pre_layrnorm", "post_ln": "vision_model.post_layernorm",
                 "vproj.weight": "visual_projection.weight",
                 "tok.weight": "text_model.embeddings.token_embedding.weight",
                 "tpos": "text_model.embeddings.position_embedding.weight",
                 "final_ln": "text_model.final_layer_norm", "tproj.weight": "text_projection.weight"}
        sub = {"ln1": "layer_norm1", "ln2": "layer_norm2", "q": "self_attn.q_proj", "k": "self_attn.k_proj",
               "v": "self_attn.v_proj", "o": "self_attn.out_proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
        mine = {}
        for name in self.state_dict():
            parts = name.split(".")
            if parts[0] in ("vlayers", "tlayers"):
                tower = "vision_model" if parts[0] == "vlayers" else "text_model"
                hf = f"{tower}.encoder.layers.{parts[1]}.{sub[parts[2]]}.{parts[3]}"
            elif name in names:
                hf = names[name]
            else:
                hf = f"{names[parts[0]]}.{parts[1]}"
            mine[name] = sd[hf]
        self.load_state_dict(mine, strict=True)
        return self

    def encode_image(self, pixels):  # [b, 3, H, W] normalised pixels
        x = self.patch(pixels).flatten(2).transpose(1, 2)  # [b, patches, d]
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.vpos
        x = self.pre_ln(x)
        for layer in self.vlayers:
            x = layer(x)
        return self.vproj(self.post_ln(x[:, 0]))

    def encode_text(self, ids):  # [b, t] int64, unpadded (or padded after EOS)
        t = ids.shape[1]
        x = self.tok(ids) + self.tpos[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)  # causal: token i sees j <= i
        for layer in self.tlayers:
            x = layer(x, mask)
        x = self.final_ln(x)
        # EOS has the largest id; argmax returns the first one, as HF's legacy pooling does.
        return self.tproj(x[torch.arange(x.shape[0]), ids.argmax(-1)])


def loaded_blas():
    """The BLAS library this process mapped. nn.Linear in fp32 runs on it, so a
    reference (netlib) BLAS makes PyTorch ~30x slower than it should be."""
    libs = [l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.rsplit("/", 1)[-1]]
    return os.path.basename(libs[0]) if libs else "none"


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return Clip(cfg).load_hf(load_safetensors(os.path.join(folder, "model.safetensors"))).eval(), cfg


def prepare(model, precision):
    """Returns (model, context manager factory) for a precision mode."""
    if precision == "int8":
        model = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    if precision == "bf16":
        return model, lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return model, torch.no_grad  # no-op context with the same call shape


def bench(model, cfg, a):
    model, ctx = prepare(model, a.precision)
    blas = loaded_blas()
    if blas.startswith("libblas.so"):
        print(f"torch_clip: WARNING: PyTorch uses the reference BLAS ({blas}); fp32 numbers are not "
              "representative. Install libopenblas0-openmp or run through bench/run_clip_bench.sh.", file=sys.stderr)
    g = torch.Generator().manual_seed(0)
    size = cfg["vision_config"]["image_size"]
    for b in a.batches:
        if a.enc == "image":
            x = torch.randn(b, 3, size, size, generator=g)
            run = lambda: model.encode_image(x)
        else:
            if a.text_len == "short":
                x = torch.tensor([SHORT_IDS] * b)
            else:  # as mmserve bench: random ids below BOS, EOS last so pooling takes the last position
                x = torch.cat([torch.randint(1, BOS, (b, 76), generator=g), torch.full((b, 1), EOS)], 1)
            run = lambda: model.encode_text(x)
        with torch.inference_mode(), ctx():
            for _ in range(a.warmup):
                run()
            times, start = [], time.perf_counter()
            while len(times) < a.min_iters or time.perf_counter() - start < a.min_time:
                t0 = time.perf_counter()
                run()
                times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1e3
        row = {"engine": "pytorch", "encoder": a.enc, "precision": a.precision, "batch": b, "iters": len(times),
               "median_ms": round(ms, 3), "best_ms": round(min(times) * 1e3, 3),
               "items_per_s": round(b / ms * 1e3, 2), "threads": torch.get_num_threads(), "blas": blas}
        if a.enc == "text":
            row["text"], row["text_len"] = a.text_len, x.shape[1]
        print(json.dumps(row), flush=True)


def embed(model, a):
    out = {}
    with torch.inference_mode():
        if a.pixels:
            px = torch.from_numpy(np.load(a.pixels).astype(np.float32))
            out["image_embeds"] = model.encode_image(px.reshape(-1, *px.shape[-3:])).tolist()
        if a.ids:
            # One sequence at a time: each runs at its own length, no padding question.
            out["text_embeds"] = [model.encode_text(torch.tensor([s]))[0].tolist() for s in json.loads(a.ids)]
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF-layout checkpoint folder")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--embed", action="store_true")
    mode.add_argument("--bench", action="store_true")
    ap.add_argument("--pixels", help=".npy of preprocessed pixels, [3,H,W] or [b,3,H,W]")
    ap.add_argument("--ids", help="JSON list of token id lists")
    ap.add_argument("--enc", choices=["image", "text"], default="image")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--text-len", choices=["77", "short"], default="77")
    ap.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds of timed runs per point (at least)")
    ap.add_argument("--min-iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, cfg = load_model(a.model)
    if a.bench:
        bench(model, cfg, a)
    else:
        if not (a.pixels or a.ids):
            sys.exit("--embed needs --pixels and/or --ids")
        embed(model, a)


if __name__ == "__main__":
    main()
