#!/usr/bin/python3
"""Converts the Whisper model golden data (OpenAI's whisper on the tiny-random checkpoint,
/work/shared/whisper-reference/golden) into what tests/models/whisper_golden_test.cpp reads:
raw little-endian float32 .bin files in tests/data/whisper-reference/golden/ plus the index
enc_dec_index.json (shapes, the vocabulary ids kept, prompts, greedy tokens, no-speech
probabilities). Only the files whose full mel is in the golden data (utt1, silence3) can
be run through the encoder, so only they are converted.

Usage: /usr/bin/python3 tests/models/convert_whisper_model_golden.py [reference_dir]
"""
import json
import os
import sys

import numpy as np

FILES = ["utt1", "silence3"]
MODEL = "tiny-random"


def main():
    ref = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/whisper-reference"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = os.path.join(root, "tests", "data", "whisper-reference", "golden")
    os.makedirs(out_dir, exist_ok=True)
    summary = json.load(open(os.path.join(ref, "golden", "summary.json")))

    def write(name, array):
        array = np.ascontiguousarray(array, dtype="<f4")
        array.tofile(os.path.join(out_dir, name))
        return {"file": name, "shape": list(array.shape)}

    index = {"source": "OpenAI whisper (commit c0d2f624) fp32 on " + MODEL + "; see /work/shared/whisper-reference/README.md",
             "teacher_prompt": summary["teacher_prompt"], "files": {}}
    for f in FILES:
        z = np.load(os.path.join(ref, "golden", "ref_%s.npz" % f))
        s = summary["files"][f][MODEL]
        entry = {
            # the same mel tests/media/convert_whisper_golden.py writes as mel_<file>.bin
            "mel": {"file": "mel_%s.bin" % f, "shape": list(z["mel"].shape)},
            "enc_rows": write("enc_%s_rows.bin" % f, z["enc_rows"]),
            "enc_rows_idx": z["enc_rows_idx"].astype(int).tolist(),
            "teacher_logits": write("dec_%s_teacher_logits.bin" % f, z["teacher_logits_sel"]),
            "teacher_logit_idx": z["teacher_logit_idx"].astype(int).tolist(),
            "teacher_argmax": s["teacher_argmax"],
        }
        if "enc_full" in z.files:
            entry["enc_full"] = write("enc_%s_full.bin" % f, z["enc_full"])
        for mode in ("notime", "ts"):
            entry[mode] = {
                "logits": write("dec_%s_%s_logits.bin" % (f, mode), z["%s_logits_raw_sel" % mode]),
                "logit_idx": z["%s_logit_idx" % mode].astype(int).tolist(),
                "prompt_tokens": s[mode]["prompt_tokens"],
                "step_tokens": s[mode]["step_tokens"],
                "no_speech_prob": s[mode]["no_speech_prob"],
            }
        index["files"][f] = entry
    with open(os.path.join(out_dir, "enc_dec_index.json"), "w") as fp:
        json.dump(index, fp)
        fp.write("\n")


if __name__ == "__main__":
    main()
