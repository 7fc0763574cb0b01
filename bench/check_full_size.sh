#!/usr/bin/env bash
# Full-size numerical cross-check: mmserve vs bench/torch_clip.py on a random
# ViT-B/32 checkpoint, one image and one text. The CTest suite only covers the
# tiny checkpoint; this catches what only shows at real widths and depths.
#
#   MMSERVE_BIN=build/mmserve bench/check_full_size.sh    (MIN_COSINE=0.9999)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
MIN_COSINE=${MIN_COSINE:-0.9999}
OUT=bench/out
MODEL=$OUT/vit-b-32
IMAGE=tests/data/clip-reference/images/chelsea.png
# What mmserve's default (HF) preprocessing makes of that image, so only the model is compared.
PIXELS=tests/data/clip-reference/pixels_hf/chelsea_png.npy
TEXT="a photo of a dog"
IDS='[[49406, 320, 1125, 539, 320, 1929, 49407]]'  # its CLIP tokens

[ -f "$MODEL/model.safetensors" ] || $PY tools/make_random_clip.py --out "$MODEL" --shape vit-b-32 --dtype f32 --seed 0

"$MMSERVE_BIN" embed --model "$MODEL" --text "$TEXT" --image "$IMAGE" > $OUT/full_size_mmserve.json
$PY bench/torch_clip.py --model "$MODEL" --embed --pixels "$PIXELS" --ids "$IDS" > $OUT/full_size_pytorch.json

$PY - "$MIN_COSINE" $OUT/full_size_mmserve.json $OUT/full_size_pytorch.json <<'EOF'
import json, sys
import numpy as np
min_cos, ours, ref = float(sys.argv[1]), json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
ok = True
for key in ("image_embeds", "text_embeds"):
    a, b = np.asarray(ours[key], np.float64), np.asarray(ref[key], np.float64)
    if a.shape != b.shape:
        print(f"{key}: shape {a.shape} vs PyTorch {b.shape}"); ok = False; continue
    # Cosine ignores whether either side normalises its embeddings.
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    rel = np.abs(a / np.linalg.norm(a, axis=-1, keepdims=True) - b / np.linalg.norm(b, axis=-1, keepdims=True)).max()
    print(f"{key}: cosine {cos.min():.8f}  (1-cos {1 - cos.min():.2e}, max |diff| of unit vectors {rel:.2e})")
    ok &= bool(cos.min() >= min_cos)
print("full-size check:", "PASS" if ok else f"FAIL (cosine below {min_cos})")
sys.exit(0 if ok else 1)
EOF
