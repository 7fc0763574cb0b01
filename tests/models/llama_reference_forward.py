#!/usr/bin/python3
"""An independent float64 forward pass of a LLaMA-family decoder, written from Hugging
Face's definitions (modeling_llama / modeling_qwen2 / modeling_mistral and
modeling_rope_utils), for the C++ tests to compare LlamaModel against.

  llama_reference_forward.py MODEL_DIR IDS_CSV OUT.f32    -> logits [len(ids), vocab] float32
  llama_reference_forward.py --inv-freq MODEL_DIR OUT.f64 -> the rotary inverse frequencies

Reads config.json and model.safetensors or its shards (F32, F16 or BF16) with numpy only.
"""
import json
import math
import os
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = data[base + a:base + b]
        if e["dtype"] == "F32":
            x = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif e["dtype"] == "F16":
            x = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif e["dtype"] == "BF16":
            x = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            raise SystemExit(f"{path}: {name}: dtype {e['dtype']} not handled")
        out[name] = x.reshape(e["shape"])
    return out


def inv_freq(cfg):
    """transformers' ROPE_INIT_FUNCTIONS for rope_type default / linear / llama3."""
    heads = cfg["num_attention_heads"]
    dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    base = cfg.get("rope_theta", 10000.0)
    freq = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        return freq / rs["factor"]
    if kind == "llama3":
        factor = rs["factor"]
        low, high = rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / freq
        scaled = np.where(wavelen > low_wavelen, freq / factor, freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return np.where(medium, smoothed, scaled)
    assert kind == "default", kind
    return freq


def rms_norm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(model_dir, ids):
    cfg = json.load(open(model_dir + "/config.json"))
    index = model_dir + "/model.safetensors.index.json"
    if os.path.exists(index):  # sharded, as save_pretrained writes large models
        w = {}
        for shard in sorted(set(json.load(open(index))["weight_map"].values())):
            w.update(load_safetensors(model_dir + "/" + shard))
    else:
        w = load_safetensors(model_dir + "/model.safetensors")
    mt = cfg.get("model_type", "llama")
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // heads
    eps = cfg["rms_norm_eps"]
    qkv_bias = mt == "qwen2" or (mt == "llama" and cfg.get("attention_bias", False))
    o_bias = mt == "llama" and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
    n = len(ids)
    x = w["model.embed_tokens.weight"][ids]
    pos = np.arange(n, dtype=np.float64)
    freqs = np.outer(pos, inv_freq(cfg))
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    mask = np.triu(np.full((n, n), -np.inf), 1)

    def lin(h, name, bias):
        y = h @ w[name + ".weight"].T
        return y + w[name + ".bias"] if bias else y

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj", qkv_bias).reshape(n, heads, hd)
        k = lin(h, p + "self_attn.k_proj", qkv_bias).reshape(n, kv, hd)
        v = lin(h, p + "self_attn.v_proj", qkv_bias).reshape(n, kv, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, heads // kv, axis=1)  # repeat_kv
        v = np.repeat(v, heads // kv, axis=1)
        out = np.empty((n, heads, hd))
        for hh in range(heads):
            s = q[:, hh, :] @ k[:, hh, :].T / math.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            out[:, hh, :] = s @ v[:, hh, :]
        x = x + lin(out.reshape(n, heads * hd), p + "self_attn.o_proj", o_bias)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = lin(h, p + "mlp.gate_proj", mlp_bias)
        u = lin(h, p + "mlp.up_proj", mlp_bias)
        x = x + lin(g / (1 + np.exp(-g)) * u, p + "mlp.down_proj", mlp_bias)
    x = rms_norm(x, w["model.norm.weight"], eps)
    tied = cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in w
    head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
    return x @ head.T


def main():
    if sys.argv[1] == "--inv-freq":
        cfg = json.load(open(sys.argv[2] + "/config.json"))
        inv_freq(cfg).astype("<f8").tofile(sys.argv[3])
        return
    ids = [int(t) for t in sys.argv[2].split(",")]
    forward(sys.argv[1], ids).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
