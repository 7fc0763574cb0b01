#!/usr/bin/python3
"""Inputs for bench/run_whisper_bench.sh.

  whisper_bench_prep.py audio OUT.wav SECONDS   16 kHz mono 16-bit speech: the reference
      utterances (tests/data/whisper-reference/audio/utt1..3.wav) one after another with
      0.3 s of quiet between them, looped and cut to exactly SECONDS.
  whisper_bench_prep.py half IN.pt OUT.pt       an OpenAI-format checkpoint with its
      matrices in float16, as OpenAI publishes them: whisper.cpp's convert-pt-to-ggml.py
      writes 2-D tensors as F16 without converting them (a float32 .pt gives a broken
      file), so the F16 ggml model is made from this; 1-D tensors stay float32 either way.
"""
import os
import sys
import wave

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UTTERANCES = [os.path.join(REPO, "tests", "data", "whisper-reference", "audio", f"utt{i}.wav") for i in (1, 2, 3)]
RATE = 16000


def read_wav(path):
    with wave.open(path) as w:
        if w.getnchannels() != 1 or w.getframerate() != RATE or w.getsampwidth() != 2:
            sys.exit(f"whisper_bench_prep: {path} is not 16 kHz mono 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def audio(out, seconds):
    gap = np.zeros(int(0.3 * RATE), dtype="<i2")
    one = np.concatenate([x for p in UTTERANCES for x in (read_wav(p), gap)])
    n = int(round(float(seconds) * RATE))
    pcm = np.tile(one, -(-n // len(one)))[:n]
    tmp = out + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    os.replace(tmp, out)


def half(inp, out):
    import torch
    ck = torch.load(inp, map_location="cpu")
    ck["model_state_dict"] = {k: (v.half() if v.dim() >= 2 else v) for k, v in ck["model_state_dict"].items()}
    torch.save(ck, out + ".tmp")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "audio":
        audio(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "half":
        half(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
