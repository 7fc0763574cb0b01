#!/usr/bin/python3
"""Write a Hugging Face-layout LLaVA-1.5 checkpoint with random weights (seeded).

The LLaVA-1.5 shape with random values (cost depends on shape, not values): a CLIP
ViT-L/14 vision tower at 336 px (24 layers, width 1024; 576 patches), the two-layer GELU
projector, and a LLaMA language model of the TinyLlama-1.1B shape (default) or the 7B
shape (vicuna-7b, llava-1.5-7b-hf's) with vocab 32064 (<image> = 32000). Tensor names follow
transformers' LlavaForConditionalGeneration (the language_model.* / vision_tower.* /
multi_modal_projector.* layout); the tokenizer, chat template and preprocessor files are
the reference LLaVA's (tests/data/llava-reference), the crop set to 336.

  /usr/bin/python3 tools/make_random_llava.py --out DIR --language tinyllama-1.1b --dtype bf16
  /usr/bin/python3 tools/make_random_llava.py --out DIR --language 7b --dtype bf16 --max-shard-mb 4096
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_llama as llama  # noqa: E402  (its tensor writer and dtypes)

REPO = llama.REPO
# hidden, intermediate, layers, heads, kv heads, context
LANGUAGE = {
    "tinyllama-1.1b": (2048, 5632, 22, 32, 4, 2048),
    "7b": (4096, 11008, 32, 32, 32, 4096),
    "tiny": (64, 172, 2, 4, 2, 2048),
}
# ViT-L/14-336 (openai/clip-vit-large-patch14-336, llava-1.5's tower)
VISION = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
          "image_size": 336, "patch_size": 14}
VOCAB = 32064
COPIED = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
          "chat_template.json", "processor_config.json"]


def make_config(language):
    d, inter, layers, heads, kv, ctx = LANGUAGE[language]
    patches = (VISION["image_size"] // VISION["patch_size"]) ** 2
    return {
        "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
        "image_token_index": 32000, "projector_hidden_act": "gelu", "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default", "image_seq_length": patches, "pad_token_id": 32001,
        "tie_word_embeddings": False,
        "text_config": {"model_type": "llama", "hidden_size": d, "intermediate_size": inter,
                        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
                        "head_dim": d // heads, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                        "max_position_embeddings": ctx, "vocab_size": VOCAB, "tie_word_embeddings": False,
                        "bos_token_id": 1, "eos_token_id": 2},
        "vision_config": dict(VISION, model_type="clip_vision_model", hidden_act="quick_gelu",
                              layer_norm_eps=1e-05, projection_dim=768),
    }


def tensor_specs(cfg):
    """[(name, shape, kind)] in the old (language_model.*) layout; kind as make_random_llama's,
    plus 'bias' (zero-centred, small) for the vision tower's and projector's biases."""
    v, t = cfg["vision_config"], cfg["text_config"]
    dv, iv, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    pre = "vision_tower.vision_model."
    specs = [(pre + "embeddings.class_embedding", [dv], "w"),
             (pre + "embeddings.patch_embedding.weight", [dv, 3, p, p], "w"),
             (pre + "embeddings.position_embedding.weight", [(v["image_size"] // p) ** 2 + 1, dv], "w"),
             (pre + "pre_layrnorm.weight", [dv], "norm"), (pre + "pre_layrnorm.bias", [dv], "w")]
    for i in range(v["num_hidden_layers"]):
        lp = f"{pre}encoder.layers.{i}."
        for ln in ("layer_norm1", "layer_norm2"):
            specs += [(lp + ln + ".weight", [dv], "norm"), (lp + ln + ".bias", [dv], "w")]
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            specs += [(lp + "self_attn." + proj + ".weight", [dv, dv], "w"), (lp + "self_attn." + proj + ".bias", [dv], "w")]
        specs += [(lp + "mlp.fc1.weight", [iv, dv], "w"), (lp + "mlp.fc1.bias", [iv], "w"),
                  (lp + "mlp.fc2.weight", [dv, iv], "w"), (lp + "mlp.fc2.bias", [dv], "w")]
    specs += [(pre + "post_layernorm.weight", [dv], "norm"), (pre + "post_layernorm.bias", [dv], "w")]
    dt = t["hidden_size"]
    specs += [("multi_modal_projector.linear_1.weight", [dt, dv], "w"), ("multi_modal_projector.linear_1.bias", [dt], "w"),
              ("multi_modal_projector.linear_2.weight", [dt, dt], "w"), ("multi_modal_projector.linear_2.bias", [dt], "w")]
    text_cfg = dict(t)
    for name, shape, kind in llama.tensor_specs(text_cfg):
        specs.append(("language_model." + name, shape, kind))
    return specs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--language", choices=sorted(LANGUAGE), default="tinyllama-1.1b")
    ap.add_argument("--dtype", choices=sorted(llama.DTYPES), default="bf16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-shard-mb", type=int, default=0, help="split into shards of at most this size (0: one file)")
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    cfg = make_config(a.language)
    specs = tensor_specs(cfg)
    st_dtype, torch_dtype, itemsize = llama.DTYPES[a.dtype]
    cfg["torch_dtype"] = torch_dtype
    rng = np.random.default_rng(a.seed)
    groups = llama.shard(specs, itemsize, a.max_shard_mb * 2**20) if a.max_shard_mb else [specs]
    total = 0
    if len(groups) == 1:
        total = llama.write_file(os.path.join(a.out, "model.safetensors"), specs, rng, st_dtype, itemsize, a.dtype)
    else:
        weight_map = {}
        for i, group in enumerate(groups):
            fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            total += llama.write_file(os.path.join(a.out, fname), group, rng, st_dtype, itemsize, a.dtype)
            weight_map.update({name: fname for name, _, _ in group})
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    src = os.path.join(REPO, "tests", "data", "llava-reference", "model")
    for name in COPIED:
        shutil.copyfile(os.path.join(src, name), os.path.join(a.out, name))
    with open(os.path.join(src, "preprocessor_config.json")) as f:
        pre = json.load(f)
    pre["size"] = {"shortest_edge": VISION["image_size"]}
    pre["crop_size"] = {"height": VISION["image_size"], "width": VISION["image_size"]}
    with open(os.path.join(a.out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    params = sum(int(np.prod(s)) for _, s, _ in specs)
    print(f"make_random_llava: ViT-L/14-336 + {a.language} {a.dtype} seed {a.seed}: {params / 1e6:.1f}M params, "
          f"{total / 2**20:.0f} MiB in {len(groups)} file(s) -> {a.out} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
