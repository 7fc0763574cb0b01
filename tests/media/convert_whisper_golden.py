#!/usr/bin/python3
"""Converts the Whisper reference's numpy files into what the audio tests read.

Reads /work/shared/whisper-reference/golden (or the folder given as the first argument)
and writes tests/data/whisper-reference/golden/:
  mel_<file>.bin          float32 LE [80, 3000], the whole window (utt1, silence3)
  mel5_<file>.bin         float32 LE [80, 600], every 5th frame (utt2, utt3, stereo44k)
  stereo44k.load_audio_16k_int16.bin   int16 LE, OpenAI's load_audio of stereo44k.wav
  golden_index.json       shape, dtype and frame indices of each
Run with /usr/bin/python3 (numpy).
"""
import json
import os
import sys

import numpy as np

src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/whisper-reference/golden"
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "whisper-reference", "golden")
os.makedirs(dst, exist_ok=True)
index = {"source": "OpenAI whisper c0d2f624 (see tests/data/whisper-reference and its README)", "files": {}}


def write(name, array, dtype, **extra):
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    array.tofile(os.path.join(dst, name))
    index["files"][name] = {"shape": list(array.shape), "dtype": np.dtype(dtype).name, **extra}


for stem in ["utt1", "silence3"]:
    z = np.load(os.path.join(src, f"ref_{stem}.npz"))
    write(f"mel_{stem}.bin", z["mel"], np.float32, audio=f"{stem}.wav")
for stem in ["utt2", "utt3", "stereo44k"]:
    z = np.load(os.path.join(src, f"ref_{stem}.npz"))
    idx = z["mel_frames_idx"].astype(int)
    assert (idx == np.arange(0, 3000, 5)).all(), "expected every 5th frame"
    write(f"mel5_{stem}.bin", z["mel_frames"], np.float32, audio=f"{stem}.wav", frame_start=0, frame_step=5)
pcm = np.load(os.path.join(src, "stereo44k.load_audio_16k_int16.npy"))
write("stereo44k.load_audio_16k_int16.bin", pcm, np.int16, audio="stereo44k.wav")

with open(os.path.join(dst, "golden_index.json"), "w") as f:
    json.dump(index, f, indent=1)
    f.write("\n")
print("wrote", ", ".join(sorted(index["files"])), "to", os.path.normpath(dst))
