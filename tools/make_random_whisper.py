#!/usr/bin/python3
"""Write a Hugging Face-layout Whisper checkpoint with random weights (seeded).

No pretrained weights can be downloaded here, so the speech benchmarks run on random
weights with the real whisper-tiny / whisper-base shapes: cost depends on shape, not
values (the decoding length is fixed by the benchmark, not left to end-of-text). Tensor
names, config fields and file layout follow transformers' WhisperForConditionalGeneration
(proj_out tied to the decoder's token embedding, so no proj_out.weight), fp32; the
tokenizer, generation and preprocessor files are copied from the reference Whisper
(tests/data/whisper-reference/model), whose multilingual 51865-token vocabulary both
shapes share. Values are scaled like a trained model's roughly are (matrices and
embeddings normal with std 0.02, biases small, layer-norm gains near 1, sinusoidal encoder
positions as Whisper's), so activations stay finite through all layers.

  /usr/bin/python3 tools/make_random_whisper.py --out DIR --shape tiny    # 39M params, 150 MiB
  /usr/bin/python3 tools/make_random_whisper.py --out DIR --shape base    # 74M params, 280 MiB
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
REFERENCE = os.path.join(REPO, "tests", "data", "whisper-reference", "model")
COPIED = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
          "vocab.json", "merges.txt", "preprocessor_config.json"]

# d_model, encoder layers, decoder layers, heads, ffn (openai/whisper-tiny's and -base's config.json)
SHAPES = {
    "tiny": (384, 4, 4, 6, 1536),
    "base": (512, 6, 6, 8, 2048),
    "ref": (64, 2, 2, 2, 256),  # the reference model's sizes, for quick checks
}
N_MELS, VOCAB, SOURCE_POSITIONS, TARGET_POSITIONS = 80, 51865, 1500, 448


def make_config(shape):
    d, enc, dec, heads, ffn = SHAPES[shape]
    with open(os.path.join(REFERENCE, "config.json")) as f:
        cfg = json.load(f)
    cfg.update({"_name_or_path": f"whisper-{shape}-random", "d_model": d,
                "encoder_layers": enc, "decoder_layers": dec, "num_hidden_layers": enc,
                "encoder_attention_heads": heads, "decoder_attention_heads": heads,
                "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn, "num_mel_bins": N_MELS,
                "vocab_size": VOCAB, "max_source_positions": SOURCE_POSITIONS,
                "max_target_positions": TARGET_POSITIONS, "max_length": TARGET_POSITIONS,
                "tie_word_embeddings": True, "torch_dtype": "float32"})
    return cfg


def tensor_specs(cfg):
    """[(name, shape, kind)]: kind 'w' a random matrix (std 0.02), 'bias' a small bias,
    'norm' a layer-norm gain near 1, 'sin' Whisper's sinusoidal encoder positions."""
    d, ffn = cfg["d_model"], cfg["encoder_ffn_dim"]
    specs = [("model.encoder.conv1.weight", [d, N_MELS, 3], "w"), ("model.encoder.conv1.bias", [d], "bias"),
             ("model.encoder.conv2.weight", [d, d, 3], "w"), ("model.encoder.conv2.bias", [d], "bias"),
             ("model.encoder.embed_positions.weight", [SOURCE_POSITIONS, d], "sin")]

    def attn(p):
        return [(p + "q_proj.weight", [d, d], "w"), (p + "q_proj.bias", [d], "bias"),
                (p + "k_proj.weight", [d, d], "w"),  # Whisper's key projections have no bias
                (p + "v_proj.weight", [d, d], "w"), (p + "v_proj.bias", [d], "bias"),
                (p + "out_proj.weight", [d, d], "w"), (p + "out_proj.bias", [d], "bias")]

    def norm(p):
        return [(p + ".weight", [d], "norm"), (p + ".bias", [d], "bias")]

    def mlp(p):
        return [(p + "fc1.weight", [ffn, d], "w"), (p + "fc1.bias", [ffn], "bias"),
                (p + "fc2.weight", [d, ffn], "w"), (p + "fc2.bias", [d], "bias")]

    for i in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{i}."
        specs += norm(p + "self_attn_layer_norm") + attn(p + "self_attn.") + norm(p + "final_layer_norm") + mlp(p)
    specs += norm("model.encoder.layer_norm")
    specs += [("model.decoder.embed_tokens.weight", [VOCAB, d], "w"),
              ("model.decoder.embed_positions.weight", [TARGET_POSITIONS, d], "w")]
    for i in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{i}."
        specs += (norm(p + "self_attn_layer_norm") + attn(p + "self_attn.") +
                  norm(p + "encoder_attn_layer_norm") + attn(p + "encoder_attn.") +
                  norm(p + "final_layer_norm") + mlp(p))
    specs += norm("model.decoder.layer_norm")
    return sorted(specs)  # save_pretrained's order: sorted by name


def sinusoids(length, channels, max_timescale=10000):
    """Whisper's encoder positional embedding (whisper/model.py: sinusoids)."""
    inc = np.log(max_timescale) / (channels // 2 - 1)
    inv = np.exp(-inc * np.arange(channels // 2))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1).astype(np.float32)


def make_tensor(rng, shape, kind):
    if kind == "sin":
        return sinusoids(*shape)
    x = rng.standard_normal(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if kind == "w":
        return x * np.float32(0.02)
    if kind == "bias":
        return x * np.float32(0.01)
    return np.float32(1.0) + x * np.float32(0.02)  # 'norm': gains near 1, not exactly, so an ignored gain shows


def write_file(path, specs, rng):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shp, _ in specs:
        nbytes = int(np.prod(shp)) * 4
        header[name] = {"dtype": "F32", "shape": shp, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)  # data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        # One tensor in memory at a time, in a fixed order: the weights are a pure function of --seed.
        for _, shp, kind in specs:
            f.write(np.ascontiguousarray(make_tensor(rng, shp, kind), dtype=np.float32).tobytes())
    os.replace(tmp, path)  # never leave a half-written file under the final name
    return offset


def write_checkpoint(out, shape, seed):
    os.makedirs(out, exist_ok=True)
    cfg = make_config(shape)
    specs = tensor_specs(cfg)
    total = write_file(os.path.join(out, "model.safetensors"), specs, np.random.default_rng(seed))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(REFERENCE, "generation_config.json")) as f:
        gen = json.load(f)
    # OpenAI's default when a model has no tuned alignment heads: every head of the decoder's upper half.
    dec, heads = cfg["decoder_layers"], cfg["decoder_attention_heads"]
    gen["alignment_heads"] = [[layer, h] for layer in range(dec // 2, dec) for h in range(heads)]
    gen["max_length"] = TARGET_POSITIONS
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")
    for name in COPIED:
        shutil.copyfile(os.path.join(REFERENCE, name), os.path.join(out, name))
    return sum(int(np.prod(s)) for _, s, _ in specs), total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    params, nbytes = write_checkpoint(a.out, a.shape, a.seed)
    print(f"make_random_whisper: {a.shape} fp32 seed {a.seed}: {params / 1e6:.1f}M params, "
          f"{nbytes / 2**20:.0f} MiB -> {a.out} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
