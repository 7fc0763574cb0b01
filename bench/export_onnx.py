#!/usr/bin/python3
"""Export a CLIP checkpoint folder's two towers to ONNX for the ONNX Runtime peer.

  /usr/bin/python3 bench/export_onnx.py --model bench/out/vit-b-32 --out bench/out/onnx

The graphs come from bench/torch_clip.py's model, so ONNX Runtime runs exactly the
network PyTorch and mmserve run on the same folder:

  vision.onnx       pixel_values [batch, 3, H, W] float32 -> image_embeds [batch, proj]
  text.onnx         input_ids [batch, tokens] int64       -> text_embeds [batch, proj]
                    (causal mask, pooled at the end-of-text token = the largest id)
  vision-int8.onnx, text-int8.onnx
                    dynamic int8: every MatMul with a constant 2-D weight becomes
                    DynamicQuantizeLinear (activations to u8, scale and zero point per
                    call) -> MatMulInteger with s8 weights (symmetric, one scale per output
                    column) -> Cast -> Mul by the two scales. This is the pattern of ONNX
                    Runtime's own dynamic quantizer; its graph optimiser fuses it into
                    DynamicQuantizeMatMul (MLAS u8 x s8 kernels). The patch convolution,
                    the token embedding and the attention products stay float32, as in
                    PyTorch's dynamic quantization of nn.Linear.
  reference.json    one image, one 77-token text and one short label with PyTorch fp32's
                    embeddings, for
                    bench/ort/ort_clip.js --check (cosine of ONNX Runtime's output to them)

Needs python3-torch, python3-numpy and python3-onnx (Debian). Batch and text length are
dynamic axes, so one file serves every batch size and the short-label case.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_clip  # noqa: E402  (bench/torch_clip.py)


class VisionTower(nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, pixel_values):
        return self.clip.encode_image(pixel_values)


class TextTower(nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, input_ids):
        return self.clip.encode_text(input_ids)


def export(module, example, path, in_name, out_name, axes, opset):
    torch.onnx.export(module, (example,), path, input_names=[in_name], output_names=[out_name],
                      dynamic_axes={in_name: axes, out_name: {0: "batch"}},
                      opset_version=opset, do_constant_folding=True)


def quantize_dynamic_int8(src, dst):
    """Rewrite src's float MatMuls by constant weights as dynamic u8 x s8 integer products."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(src)
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    rewritten, nodes, added = 0, [], []
    for node in graph.node:
        w = weights.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        w = numpy_helper.to_array(w) if w is not None else None
        if w is None or w.ndim != 2 or w.dtype != np.float32:
            nodes.append(node)
            continue
        rewritten += 1
        tag = f"q{rewritten}"
        # One scale per output column N of W[K, N]; zero point 0, range [-127, 127].
        col_scale = np.maximum(np.abs(w).max(axis=0), np.float32(1e-12)) / np.float32(127)
        w_s8 = np.clip(np.rint(w / col_scale), -127, 127).astype(np.int8)
        added += [numpy_helper.from_array(w_s8, f"{tag}.w_s8"),
                  numpy_helper.from_array(col_scale.astype(np.float32), f"{tag}.w_scale"),
                  numpy_helper.from_array(np.zeros(w.shape[1], np.int8), f"{tag}.w_zero")]
        x = node.input[0]
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [f"{tag}.x_u8", f"{tag}.x_scale", f"{tag}.x_zero"],
                             name=f"{tag}.quantize"),
            helper.make_node("MatMulInteger", [f"{tag}.x_u8", f"{tag}.w_s8", f"{tag}.x_zero", f"{tag}.w_zero"],
                             [f"{tag}.acc"], name=f"{tag}.matmul"),
            helper.make_node("Cast", [f"{tag}.acc"], [f"{tag}.acc_f"], to=TensorProto.FLOAT, name=f"{tag}.cast"),
            helper.make_node("Mul", [f"{tag}.x_scale", f"{tag}.w_scale"], [f"{tag}.scale"], name=f"{tag}.scales"),
            helper.make_node("Mul", [f"{tag}.acc_f", f"{tag}.scale"], [node.output[0]], name=f"{tag}.rescale"),
        ]
    graph.initializer.extend(added)
    used = {name for n in nodes for name in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return rewritten


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bench/out/vit-b-32", help="HF-layout CLIP checkpoint folder")
    ap.add_argument("--out", default="bench/out/onnx", help="folder for the .onnx files")
    ap.add_argument("--opset", type=int, default=14)
    a = ap.parse_args()
    try:
        import onnx  # noqa: F401  (needed for the int8 variant; fail before the long export)
    except ImportError:
        sys.exit("export_onnx: python3-onnx is missing (apt-get install python3-onnx, or "
                 "MMSERVE_WITH_BENCH=1 scripts/setup.sh)")
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    torch.set_num_threads(2)
    model, cfg = torch_clip.load_model(a.model)
    size = cfg["vision_config"]["image_size"]
    context = cfg["text_config"]["max_position_embeddings"]
    vision, text = VisionTower(model).eval(), TextTower(model).eval()

    g = torch.Generator().manual_seed(123)
    pixels = torch.randn(1, 3, size, size, generator=g)
    ids = torch.cat([torch.randint(1, torch_clip.BOS, (1, context - 1), generator=g),
                     torch.full((1, 1), torch_clip.EOS)], 1)
    short = torch.tensor([torch_clip.SHORT_IDS])
    with torch.inference_mode():
        ref_image, ref_text, ref_short = vision(pixels), text(ids), text(short)

    paths = {k: os.path.join(a.out, f"{k}.onnx") for k in ("vision", "text", "vision-int8", "text-int8")}
    with torch.no_grad():
        # Trace with batch 2 and a short text so neither axis is mistaken for a constant.
        export(vision, torch.randn(2, 3, size, size), paths["vision"], "pixel_values", "image_embeds",
               {0: "batch"}, a.opset)
        export(text, torch.tensor([torch_clip.SHORT_IDS] * 2), paths["text"], "input_ids", "text_embeds",
               {0: "batch", 1: "tokens"}, a.opset)
    for tower in ("vision", "text"):
        n = quantize_dynamic_int8(paths[tower], paths[f"{tower}-int8"])
        print(f"export_onnx: {paths[f'{tower}-int8']}: {n} MatMuls as dynamic u8 x s8", file=sys.stderr)

    reference = {"model": os.path.abspath(a.model),
                 "image": {"shape": list(pixels.shape), "input": pixels.flatten().tolist(),
                           "embeds": ref_image.flatten().tolist()},
                 "text-77": {"shape": list(ids.shape), "input": ids.flatten().tolist(),
                             "embeds": ref_text.flatten().tolist()},
                 "text-short": {"shape": list(short.shape), "input": short.flatten().tolist(),
                                "embeds": ref_short.flatten().tolist()}}
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(reference, f)
    for k, p in paths.items():
        print(f"export_onnx: {p} {os.path.getsize(p) / 2**20:.0f} MiB", file=sys.stderr)
    print(f"export_onnx: done in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
