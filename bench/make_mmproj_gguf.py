#!/usr/bin/python3
"""Write llama.cpp's "mmproj" GGUF (its CLIP vision tower + LLaVA projector file) from a
LLaVA-1.5 Hugging Face folder, for the llama.cpp side of bench/run_llava_bench.sh.

llama.cpp's own converter (examples/llava/convert_image_encoder_to_gguf.py at the pinned
source) loads the tower through Python's transformers, which this machine does not have.
This script writes the same file from the safetensors directly with the gguf-py package
of that source tree: the same metadata keys, the same tensor names (vision_model.* ->
v.*, encoder.layers -> blk, fc1 -> ffn_down, ...; projector linear_1 / linear_2 -> mm.0 /
mm.2), the last encoder layer dropped (llama.cpp reads the second-to-last layer's output
that way), post_layernorm left out, 2-D weights and the patch kernel in f16, the rest f32.

  /usr/bin/python3 bench/make_mmproj_gguf.py --model DIR --gguf-py LLAMA_SRC/gguf-py --out mmproj.gguf
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            begin, end = meta["data_offsets"]
            f.seek(base + begin)
            raw = f.read(end - begin)
            dtype = meta["dtype"]
            if dtype == "BF16":
                x = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
            elif dtype == "F16":
                x = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
            elif dtype == "F32":
                x = np.frombuffer(raw, dtype=np.float32)
            else:
                raise SystemExit(f"{path}: tensor {name} has dtype {dtype}; expected BF16, F16 or F32")
            yield name, x.reshape(meta["shape"])


def tensor_name(name):
    """llama.cpp's converter's renaming (get_tensor_name), applied to vision_model.* names."""
    return (name.replace("vision_model", "v").replace("encoder.layers", "blk").replace("embeddings.", "")
            .replace("_proj", "").replace("self_attn.", "attn_").replace("layer_norm", "ln")
            .replace("layernorm", "ln").replace("mlp.fc1", "ffn_down").replace("mlp.fc2", "ffn_up")
            .replace("embedding", "embd").replace("final", "post").replace("layrnorm", "ln"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--gguf-py", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.gguf_py)
    from gguf import GGUFWriter  # noqa: E402  (the pinned llama.cpp's own package)

    cfg = json.load(open(os.path.join(a.model, "config.json")))
    v = cfg["vision_config"]
    pre = json.load(open(os.path.join(a.model, "preprocessor_config.json")))
    layers = v["num_hidden_layers"]
    if cfg.get("vision_feature_layer", -2) != -2:
        raise SystemExit("llama.cpp's LLaVA reads the second-to-last layer; this model asks for another")
    w = GGUFWriter(path=a.out, arch="clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(1)
    w.add_name("mmserve-bench-llava-vision")
    w.add_description("image encoder for LLaVA")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", v["image_size"])
    w.add_uint32("clip.vision.patch_size", v["patch_size"])
    w.add_uint32("clip.vision.embedding_length", v["hidden_size"])
    w.add_uint32("clip.vision.feed_forward_length", v["intermediate_size"])
    w.add_uint32("clip.vision.projection_dim", v.get("projection_dim", 768))
    w.add_uint32("clip.vision.attention.head_count", v["num_attention_heads"])
    w.add_float32("clip.vision.attention.layer_norm_epsilon", v.get("layer_norm_eps", 1e-5))
    w.add_uint32("clip.vision.block_count", layers - 1)
    w.add_array("clip.vision.image_mean", pre["image_mean"])
    w.add_array("clip.vision.image_std", pre["image_std"])
    w.add_bool("clip.use_gelu", v.get("hidden_act", "quick_gelu") == "gelu")

    files = sorted(f for f in os.listdir(a.model) if f.endswith(".safetensors"))
    for fname in files:
        for name, data in read_safetensors(os.path.join(a.model, fname)):
            if name.startswith("multi_modal_projector."):
                out = re.sub(r"^multi_modal_projector\.linear_1", "mm.0", name)
                out = re.sub(r"^multi_modal_projector\.linear_2", "mm.2", out)
                w.add_tensor(out, data.astype(np.float16 if data.ndim == 2 else np.float32))
                continue
            if not name.startswith("vision_tower.vision_model."):
                continue
            name = name[len("vision_tower."):]
            if name.startswith("vision_model.post_layernorm"):
                continue
            m = re.match(r"vision_model\.encoder\.layers\.(\d+)\.", name)
            if m and int(m.group(1)) == layers - 1:
                continue  # the last layer: llama.cpp's LLaVA file leaves it out
            out = tensor_name(name)
            data = np.squeeze(data)
            if data.ndim == 4 or (out.endswith(".weight") and data.ndim == 2):
                data = data.astype(np.float16)
            else:
                data = data.astype(np.float32)
            w.add_tensor(out, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"make_mmproj_gguf: {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
