#!/usr/bin/python3
"""FLOP counts and linear-layer shapes of a CLIP checkpoint's towers, per benchmark case.

  /usr/bin/python3 bench/clip_flops.py --model bench/out/vit-b-32 --case image-224 --ceiling-args
      -> "--tokens 50 --shapes 768x2304,768x768,768x3072,3072x768" (for mmserve-matmul-ceiling)
  /usr/bin/python3 bench/clip_flops.py --model bench/out/vit-b-32
      -> GFLOP per item of each case

One multiply-add counts as 2 FLOP. Per item of a case:
  image-S   patch convolution + layers x (qkv, attention output, fc1, fc2 on T tokens
            + the two attention products, T x T x width each) + projection, T = patches + 1
  text-77   the same for 77 tokens (the causal mask is not credited: full T x T products)
  text-short  the same for "a photo of a dog", 7 tokens
Layer norms, softmax and activations are left out (well under 1%). For ViT-B/32 this gives
8.82 GFLOP per 224x224 image, 5.96 per 77-token text and 0.53 per short label.
"""
import argparse
import json
import os

SHORT_TOKENS = 7  # "a photo of a dog" with start and end markers


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def tower(cfg, case):
    """(config of the tower, tokens per item) for a case name."""
    if case.startswith("image-"):
        v = cfg["vision_config"]
        size = int(case.split("-", 1)[1])
        return v, (size // v["patch_size"]) ** 2 + 1
    t = cfg["text_config"]
    return t, SHORT_TOKENS if case == "text-short" else int(case.split("-", 1)[1])


def linear_shapes(cfg, case):
    """(tokens, [(K, N), ...]) of one transformer layer: fused qkv, attention output, fc1, fc2."""
    c, tokens = tower(cfg, case)
    d, mlp = c["hidden_size"], c["intermediate_size"]
    return tokens, [(d, 3 * d), (d, d), (d, mlp), (mlp, d)]


def flop_per_item(cfg, case):
    c, tokens = tower(cfg, case)
    d, mlp, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    per_layer = 2 * tokens * (4 * d * d + 2 * d * mlp) + 2 * 2 * tokens * tokens * d
    total = layers * per_layer + 2 * d * cfg["projection_dim"]
    if case.startswith("image-"):
        p = c["patch_size"]
        total += 2 * (tokens - 1) * (c.get("num_channels", 3) * p * p) * d
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--case", help="image-224, text-77 or text-short")
    ap.add_argument("--ceiling-args", action="store_true", help="print mmserve-matmul-ceiling's --tokens and --shapes")
    a = ap.parse_args()
    cfg = load_config(a.model)
    if a.ceiling_args:
        tokens, shapes = linear_shapes(cfg, a.case)
        print(f"--tokens {tokens} --shapes {','.join(f'{k}x{n}' for k, n in shapes)}")
        return
    for case in [a.case] if a.case else ["image-224", "text-77", "text-short"]:
        print(f"{case}: {flop_per_item(cfg, case) / 1e9:.3f} GFLOP per item")


if __name__ == "__main__":
    main()
