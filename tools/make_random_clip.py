#!/usr/bin/python3
"""Write a complete Hugging Face-layout CLIP checkpoint with random weights.

No pretrained weights can be downloaded here, so benchmarks and full-size
numerical checks run on random weights with the real OpenAI shapes. Tensor
names, dtypes and file layout follow transformers' CLIPModel, as in the tiny
checkpoint in model_repository/clip/1/.

  /usr/bin/python3 tools/make_random_clip.py --out DIR --shape vit-b-32 --dtype f32 --seed 0
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_FILES = ["vocab.json", "merges.txt", "preprocessor_config.json",
                   "tokenizer_config.json", "special_tokens_map.json"]

# (vision width, layers, heads, mlp, patch, image), (text width, layers, heads, mlp), projection
SHAPES = {
    "vit-b-32": ((768, 12, 12, 3072, 32, 224), (512, 12, 8, 2048), 512),
    "vit-b-16": ((768, 12, 12, 3072, 16, 224), (512, 12, 8, 2048), 512),
    "vit-l-14": ((1024, 24, 16, 4096, 14, 224), (768, 12, 12, 3072), 768),
    "vit-l-14-336": ((1024, 24, 16, 4096, 14, 336), (768, 12, 12, 3072), 768),
    # Same sizes as model_repository/clip/1, handy to check this script against it.
    "tiny": ((64, 2, 2, 256, 32, 224), (64, 2, 2, 256), 32),
}
VOCAB, CONTEXT = 49408, 77
DTYPES = {"f32": ("F32", "float32"), "f16": ("F16", "float16"), "bf16": ("BF16", "bfloat16")}


def make_config(shape):
    (vw, vl, vh, vm, patch, image), (tw, tl, th, tm), proj = SHAPES[shape]
    common = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "attention_dropout": 0.0, "dropout": 0.0,
              "initializer_range": 0.02, "initializer_factor": 1.0, "projection_dim": proj}
    return {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": proj,
        "logit_scale_init_value": 2.6592, "initializer_factor": 1.0,
        "text_config": {"model_type": "clip_text_model", "vocab_size": VOCAB, "hidden_size": tw,
                        "intermediate_size": tm, "num_hidden_layers": tl, "num_attention_heads": th,
                        "max_position_embeddings": CONTEXT, **common,
                        # As in the OpenAI checkpoints' configs (pooling uses argmax of the ids).
                        "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1},
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": vw, "intermediate_size": vm,
                          "num_hidden_layers": vl, "num_attention_heads": vh, "num_channels": 3,
                          "image_size": image, "patch_size": patch, **common},
    }


def tensor_specs(cfg):
    """[(name, shape, kind)], kind: 'w' random weight, 'b' bias, 'ln' layer-norm gain, 'ids', 'scale'."""
    t, v, proj = cfg["text_config"], cfg["vision_config"], cfg["projection_dim"]
    n_pos = (v["image_size"] // v["patch_size"]) ** 2 + 1
    specs = [("logit_scale", [], "scale"),
             ("text_model.embeddings.position_ids", [1, CONTEXT], "ids"),
             ("text_model.embeddings.token_embedding.weight", [VOCAB, t["hidden_size"]], "w"),
             ("text_model.embeddings.position_embedding.weight", [CONTEXT, t["hidden_size"]], "w"),
             ("text_model.final_layer_norm.weight", [t["hidden_size"]], "ln"),
             ("text_model.final_layer_norm.bias", [t["hidden_size"]], "b"),
             ("text_projection.weight", [proj, t["hidden_size"]], "w"),
             ("vision_model.embeddings.position_ids", [1, n_pos], "ids"),
             ("vision_model.embeddings.class_embedding", [v["hidden_size"]], "w"),
             ("vision_model.embeddings.patch_embedding.weight",
              [v["hidden_size"], 3, v["patch_size"], v["patch_size"]], "w"),
             ("vision_model.embeddings.position_embedding.weight", [n_pos, v["hidden_size"]], "w"),
             ("vision_model.pre_layrnorm.weight", [v["hidden_size"]], "ln"),  # sic: transformers' spelling
             ("vision_model.pre_layrnorm.bias", [v["hidden_size"]], "b"),
             ("vision_model.post_layernorm.weight", [v["hidden_size"]], "ln"),
             ("vision_model.post_layernorm.bias", [v["hidden_size"]], "b"),
             ("visual_projection.weight", [proj, v["hidden_size"]], "w")]
    for tower, c in (("text_model", t), ("vision_model", v)):
        d, m = c["hidden_size"], c["intermediate_size"]
        for i in range(c["num_hidden_layers"]):
            p = f"{tower}.encoder.layers.{i}."
            for proj_name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                specs += [(p + f"self_attn.{proj_name}.weight", [d, d], "w"), (p + f"self_attn.{proj_name}.bias", [d], "b")]
            specs += [(p + "mlp.fc1.weight", [m, d], "w"), (p + "mlp.fc1.bias", [m], "b"),
                      (p + "mlp.fc2.weight", [d, m], "w"), (p + "mlp.fc2.bias", [d], "b")]
            for ln in ("layer_norm1", "layer_norm2"):
                specs += [(p + f"{ln}.weight", [d], "ln"), (p + f"{ln}.bias", [d], "b")]
    return specs


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even; numpy has no bfloat16."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def make_tensor(rng, shape, kind, dtype):
    if kind == "ids":
        return np.arange(shape[1], dtype=np.int64).reshape(shape)
    n = int(np.prod(shape))
    if kind == "scale":
        x = np.full(shape, 2.6592, np.float32)  # HF's logit_scale_init_value: exp() = 14.3
    else:
        # Small random biases and gains != 1 so a test notices if one is ignored.
        x = rng.standard_normal(n, dtype=np.float32).reshape(shape) * np.float32(0.02)
        if kind == "ln":
            x += np.float32(1.0)
    if dtype == "bf16":
        return to_bf16_bits(x)
    return x.astype(np.float16) if dtype == "f16" else x


def write_checkpoint(out, shape, dtype, seed):
    os.makedirs(out, exist_ok=True)
    cfg = make_config(shape)
    cfg["torch_dtype"] = DTYPES[dtype][1]
    st_dtype, itemsize = DTYPES[dtype][0], {"f32": 4, "f16": 2, "bf16": 2}[dtype]
    specs = tensor_specs(cfg)
    # int64 tensors first (as safetensors orders by alignment) so every tensor stays naturally aligned.
    specs.sort(key=lambda s: (s[2] != "ids", s[0]))

    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shp, kind in specs:
        nbytes = int(np.prod(shp)) * (8 if kind == "ids" else itemsize)
        header[name] = {"dtype": "I64" if kind == "ids" else st_dtype, "shape": shp,
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)  # data must start 8-byte aligned

    # Stream tensor by tensor: only one tensor is in memory at a time, and the
    # fixed order makes the weights a pure function of --seed.
    rng = np.random.default_rng(seed)
    tmp = os.path.join(out, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for name, shp, kind in specs:
            f.write(np.ascontiguousarray(make_tensor(rng, shp, kind, dtype)).tobytes())
    os.replace(tmp, os.path.join(out, "model.safetensors"))  # never leave a half-written checkpoint

    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    src = os.path.join(REPO, "model_repository", "clip", "1")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    return sum(int(np.prod(s)) for _, s, k in specs if k != "ids"), offset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="vit-b-32")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    params, nbytes = write_checkpoint(a.out, a.shape, a.dtype, a.seed)
    print(f"make_random_clip: {a.shape} {a.dtype} seed {a.seed}: {params / 1e6:.1f}M params, "
          f"{nbytes / 2**20:.0f} MiB -> {a.out} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
