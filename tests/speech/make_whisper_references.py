#!/usr/bin/python3
"""Make the long-form Whisper reference data in tests/data/whisper-reference/longform/.

The outputs come from OpenAI's own `whisper` Python package (the copy under
shared/peers/openai-whisper, with its pure-Python tiktoken stand-in), run in fp32 on the
CPU on the tiny random checkpoint tests/data/whisper-reference/model/. They are a
reference for the *algorithm* (seek loop, prompts, language detection, temperature
fallback decisions, beam search, compression ratio), not for transcription quality: the
model's weights are random, so its text is gibberish.

How to run (from the repository root; Debian's python3 with python3-torch, python3-numpy,
python3-numba, python3-regex, python3-more-itertools, python3-tqdm and the ffmpeg CLI):

    /usr/bin/python3 tests/speech/make_whisper_references.py

Set OPENAI_WHISPER_DIR if the peer package is not at ../shared/peers/openai-whisper
(relative to the repository root). The script
  1. builds longform/long.wav from the utt*.wav files and silence (deterministic),
  2. converts model/ to an OpenAI-format checkpoint in a temporary folder,
  3. writes transcribe_*.json, detect_language.json, compression_ratio.json and
     decode_options.json next to long.wav, and prints a summary.
Running it again rewrites the same files (the sampled tokens of the t > 0 attempts in
transcribe_fallback_default.json depend on torch's RNG and may differ between torch
versions; the t = 0 attempts and the fallback decisions of the first attempt do not).
"""
import inspect
import json
import os
import subprocess
import sys
import tempfile
import wave
import zlib

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PEER = os.environ.get(
    "OPENAI_WHISPER_DIR", os.path.join(REPO, "..", "shared", "peers", "openai-whisper"))
PEER = os.path.abspath(PEER)
sys.path[:0] = [PEER, os.path.join(PEER, "shim")]

import torch  # noqa: E402
import whisper  # noqa: E402
import whisper.decoding  # noqa: E402
from whisper.audio import N_FRAMES, N_SAMPLES  # noqa: E402
from whisper.tokenizer import Tokenizer, get_encoding, get_tokenizer  # noqa: E402
from whisper.utils import compression_ratio  # noqa: E402

REF = os.path.join(REPO, "tests", "data", "whisper-reference")
AUDIO = os.path.join(REF, "audio")
OUT = os.path.join(REF, "longform")
LONG_WAV = os.path.join(OUT, "long.wav")

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- long.wav
def read_wav16k(path):
    with wave.open(path, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def make_long_wav():
    """[utt1, 2 s silence, utt2, utt3, 1 s silence] x 4, then utt1  ->  about 66.6 s at 16 kHz
    (passes two full 30 s windows and ends inside the third, on speech)."""
    u1, u2, u3 = (read_wav16k(os.path.join(AUDIO, f"utt{i}.wav")) for i in (1, 2, 3))
    sil2 = np.zeros(2 * 16000, dtype="<i2")
    sil1 = np.zeros(1 * 16000, dtype="<i2")
    block = np.concatenate([u1, sil2, u2, u3, sil1])
    data = np.concatenate([block] * 4 + [u1])
    os.makedirs(OUT, exist_ok=True)
    with wave.open(LONG_WAV, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(data.tobytes())
    return {"layout": "[utt1, 2 s zeros, utt2, utt3, 1 s zeros] x 4 + utt1",
            "samples": int(len(data)), "seconds": len(data) / 16000,
            "block_samples": int(len(block))}


# ------------------------------------------------------------------- instrumentation
ATTEMPTS = []  # filled by the DecodingTask.run wrapper
_orig_run = whisper.decoding.DecodingTask.run


def _transcribe_locals():
    f = inspect.currentframe()
    while f is not None:
        if f.f_code.co_name == "transcribe" and "seek" in f.f_locals:
            return f.f_locals
        f = f.f_back
    return None


def _logged_run(self, mel):
    results = _orig_run(self, mel)
    loc = _transcribe_locals()
    r = results[0]
    o = self.options
    ATTEMPTS.append({
        "seek": None if loc is None else int(loc["seek"]),
        "segment_size": None if loc is None else int(loc["segment_size"]),
        "temperature": o.temperature,
        "beam_size": o.beam_size,
        "best_of": o.best_of,
        "initial_tokens": list(self.initial_tokens),
        "tokens": list(r.tokens),
        "text": r.text,
        "avg_logprob": r.avg_logprob,
        "compression_ratio": r.compression_ratio,
        "no_speech_prob": r.no_speech_prob,
    })
    return results


whisper.decoding.DecodingTask.run = _logged_run


def decisions(attempts, cr_thr, lp_thr, ns_thr):
    """Annotate attempts with the fallback rule of transcribe.decode_with_fallback and group
    them into windows (consecutive attempts at the same seek)."""
    for a in attempts:
        nf = False
        if cr_thr is not None and a["compression_ratio"] > cr_thr:
            nf = True
        if lp_thr is not None and a["avg_logprob"] < lp_thr:
            nf = True
        if (ns_thr is not None and a["no_speech_prob"] > ns_thr
                and lp_thr is not None and a["avg_logprob"] < lp_thr):
            nf = False
        a["needs_fallback"] = nf
    windows = []
    for i, a in enumerate(attempts):
        if windows and windows[-1]["seek"] == a["seek"] and windows[-1]["_last"]["needs_fallback"]:
            w = windows[-1]
        else:
            w = {"seek": a["seek"], "segment_size": a["segment_size"], "attempt_indices": []}
            windows.append(w)
        w["attempt_indices"].append(i)
        w["_last"] = a
    for w in windows:
        last = w.pop("_last")
        w["temperatures_tried"] = [attempts[i]["temperature"] for i in w["attempt_indices"]]
        w["fallback_taken"] = len(w["attempt_indices"]) > 1  # a t>0 attempt followed
        w["final_attempt_needs_fallback"] = last["needs_fallback"]  # true: temperatures ran out
        w["final_temperature"] = last["temperature"]
        skip = False
        if ns_thr is not None:
            skip = last["no_speech_prob"] > ns_thr
            if lp_thr is not None and last["avg_logprob"] > lp_thr:
                skip = False
        w["skipped_as_no_speech"] = skip
    return windows


# ------------------------------------------------------------------------- transcribe
SEG_KEYS = ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
            "compression_ratio", "no_speech_prob"]

RUNS = [
    ("greedy", "long.wav", dict(temperature=0.0, language="en", condition_on_previous_text=True)),
    ("greedy_nocond", "long.wav", dict(temperature=0.0, language="en", condition_on_previous_text=False)),
    ("greedy_prompt", "long.wav", dict(temperature=0.0, language="en",
                                       initial_prompt="Hello world. This is a prompt.")),
    ("detect_lang", "long.wav", dict(temperature=0.0, language=None)),
    ("translate", "long.wav", dict(temperature=0.0, language="en", task="translate")),
    ("notimestamps", "long.wav", dict(temperature=0.0, language="en", without_timestamps=True)),
    ("beam5", "long.wav", dict(temperature=0.0, language="en", beam_size=5, best_of=5)),
    ("fallback_default", "long.wav", dict(temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), language="en")),
    # mixed fallback decisions: only the compression-ratio rule, with a threshold that the
    # t=0 output of some windows passes and of others does not
    ("fallback_cr175", "long.wav", dict(temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), language="en",
                                        compression_ratio_threshold=1.75, logprob_threshold=None)),
    # no-speech skip: the random model's no_speech_prob is ~1e-6, so a tiny threshold makes
    # some windows "silent" (avg_logprob is always < -1, so they are skipped)
    ("nospeech_thr2e-6", "long.wav", dict(temperature=0.0, language="en", no_speech_threshold=2e-6)),
    ("utt1_greedy", "utt1.wav", dict(temperature=0.0, language="en")),
    ("silence3_greedy", "silence3.wav", dict(temperature=0.0, language="en")),
    # silence rule: fallback is cancelled (no_speech_prob > threshold and avg_logprob < -1),
    # so only the t=0 attempt runs, and the window is skipped (no segments)
    ("silence3_nospeech", "silence3.wav", dict(temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
                                               language="en", no_speech_threshold=1e-6)),
]


def run_transcribe(model, name, audio_name, opts):
    path = LONG_WAV if audio_name == "long.wav" else os.path.join(AUDIO, audio_name)
    ATTEMPTS.clear()
    torch.manual_seed(0)
    try:
        res = model.transcribe(path, fp16=False, **opts)
        error = None
    except Exception as e:  # keep going; the error is recorded
        res, error = None, f"{type(e).__name__}: {e}"
    # transcribe()'s defaults unless the run overrides them
    cr_thr = opts.get("compression_ratio_threshold", 2.4)
    lp_thr = opts.get("logprob_threshold", -1.0)
    ns_thr = opts.get("no_speech_threshold", 0.6)
    attempts = [dict(a) for a in ATTEMPTS]
    windows = decisions(attempts, cr_thr, lp_thr, ns_thr)
    random_t = any(a["temperature"] > 0 for a in attempts)
    rec = {
        "audio": audio_name,
        "call": "model.transcribe(audio, fp16=False, **options)",
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()},
        "defaults_in_effect": {"compression_ratio_threshold": cr_thr, "logprob_threshold": lp_thr,
                               "no_speech_threshold": ns_thr, "suppress_tokens": "-1",
                               "suppress_blank": True, "max_initial_timestamp": 1.0,
                               "sample_len": model.dims.n_text_ctx // 2, "torch_manual_seed": 0},
        "error": error,
        "attempts_note": ("every DecodingTask.run call in order; seek/segment_size read from "
                          "transcribe()'s frame; initial_tokens is the exact token list fed to "
                          "the decoder; needs_fallback is decode_with_fallback's rule applied "
                          "to that attempt"
                          + ("; tokens of t>0 attempts are random samples (torch RNG)"
                             if random_t else "")),
        "windows": windows,
        "attempts": attempts,
    }
    if res is not None:
        rec["text"] = res["text"]
        rec["language"] = res["language"]
        rec["segments"] = [{k: s[k] for k in SEG_KEYS} for s in res["segments"]]
    if random_t:
        # sampled text differs between torch versions: keep the final result, but flag it
        rec["result_note"] = ("segments produced at t>0 are random samples; compare only "
                              "windows whose final_temperature is 0")
    with open(os.path.join(OUT, f"transcribe_{name}.json"), "w") as f:
        json.dump(rec, f, ensure_ascii=False, indent=1)
    return rec


# ---------------------------------------------------------------------- detect_language
def detect_languages(model):
    tok = get_tokenizer(True, num_languages=model.num_languages)
    out = {"call": "model.detect_language(log_mel_spectrogram(pad_or_trim(load_audio(path)), "
                   "n_mels))",
           "num_languages": model.num_languages,
           # (Tokenizer.all_language_tokens follows a set's iteration order: sort by id)
           "language_token_ids": dict(sorted(zip(tok.all_language_codes, tok.all_language_tokens),
                                             key=lambda kv: kv[1])),
           "files": {}}

    def entry(mel):
        _, probs = model.detect_language(mel.to(torch.float32))
        top = sorted(probs.items(), key=lambda kv: (-kv[1], tok.to_language_token(kv[0])))[:10]
        return {"language": max(probs, key=probs.get),
                "language_token": tok.to_language_token(max(probs, key=probs.get)),
                "top10": [{"language": k, "token": tok.to_language_token(k), "prob": v}
                          for k, v in top]}

    names = ["utt1.wav", "utt2.wav", "utt3.wav", "silence3.wav", "stereo44k.wav", "long.wav"]
    for n in names:
        path = LONG_WAV if n == "long.wav" else os.path.join(AUDIO, n)
        audio = whisper.load_audio(path)
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), model.dims.n_mels)
        out["files"][n] = entry(mel)
    # what transcribe(language=None) actually uses: mel of the whole file + 30 s of zeros,
    # first 3000 frames (the max-8 clamp is over the whole file)
    audio = whisper.load_audio(LONG_WAV)
    mel = whisper.log_mel_spectrogram(audio, model.dims.n_mels, padding=N_SAMPLES)
    e = entry(whisper.pad_or_trim(mel, N_FRAMES))
    e["note"] = ("as in transcribe(language=None): log_mel_spectrogram(audio, padding=N_SAMPLES)"
                 "[:, :3000]")
    out["files"]["long.wav#transcribe_first_window"] = e
    with open(os.path.join(OUT, "detect_language.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    return out


# -------------------------------------------------------------------- compression ratio
def compression_ratios(extra_texts):
    texts = [
        "",
        " ",
        "a",
        "Hello world.",
        " The quick brown fox jumps over the lazy dog.",
        " everybody everybody everybody everybody everybody resident podcasts",
        " la la la la la la la la la la la la la la la la la la la la la la la la",
        "ab" * 200,
        " Привет, мир! Это проверка.",
        " 你好，世界。这是一个测试。你好，世界。",
        " ♪♪ ♪♪♪ ♩♪♫♬ 🎵🎶🎵🎶",
        " Zürich, Köln, São Paulo, naïve café — déjà vu.",
    ] + extra_texts
    rows = []
    for t in texts:
        b = t.encode("utf-8")
        rows.append({"text": t, "utf8_bytes": len(b), "zlib_bytes": len(zlib.compress(b)),
                     "compression_ratio": compression_ratio(t)})
    out = {"definition": "len(text.encode('utf-8')) / len(zlib.compress(text_bytes)) "
                         "(zlib level -1 = 6, whisper.utils.compression_ratio)",
           "zlib_version": zlib.ZLIB_VERSION, "cases": rows}
    with open(os.path.join(OUT, "compression_ratio.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    return out


# ----------------------------------------------------------------------- decode options
def decode_options(model, prompt_run):
    nl = model.num_languages
    enc = get_encoding("multilingual", num_languages=nl)

    def seqs(language, task):
        t = Tokenizer(encoding=enc, num_languages=nl, language=language, task=task)
        return {"sot_sequence": list(t.sot_sequence),
                "sot_sequence_including_notimestamps": list(t.sot_sequence_including_notimestamps)}

    tok = get_tokenizer(True, num_languages=nl, language="en", task="transcribe")
    task = whisper.decoding.DecodingTask(
        model, whisper.decoding.DecodingOptions(language="en", fp16=False))
    prompt_text = "Hello world. This is a prompt."
    ptask = whisper.decoding.DecodingTask(
        model, whisper.decoding.DecodingOptions(language="en", fp16=False, prompt=prompt_text))
    first = prompt_run["attempts"][0] if prompt_run["attempts"] else None
    out = {
        "ids": {"sot": tok.sot, "eot": tok.eot, "sot_prev": tok.sot_prev, "sot_lm": tok.sot_lm,
                "no_speech": tok.no_speech, "no_timestamps": tok.no_timestamps,
                "timestamp_begin": tok.timestamp_begin, "translate": tok.translate,
                "transcribe": tok.transcribe, "en": tok.to_language_token("en"),
                "first_language_token": min(tok.all_language_tokens),
                "last_language_token": max(tok.all_language_tokens),
                "num_languages": nl,
                "n_vocab": model.dims.n_vocab},
        "sot_sequences": {
            "en_transcribe": seqs("en", "transcribe"),
            "en_translate": seqs("en", "translate"),
            "language_None_task_transcribe": seqs(None, "transcribe"),
            "language_None_task_None": seqs(None, None),
            "note_language_None": ("DecodingTask with language=None builds the en prompt "
                                   "(language or 'en') and then overwrites the token at "
                                   "sot_index+1 with the detected language token"),
        },
        "initial_prompt": {
            "initial_prompt": prompt_text,
            "prompt_tokens": tok.encode(" " + prompt_text.strip()),
            "decoder_input_first_window_from_transcribe": first["initial_tokens"] if first else None,
            "decoder_input_DecodingTask_prompt_str": list(ptask.initial_tokens),
            "layout": "[sot_prev] + prompt_tokens[-(n_text_ctx//2 - 1):] + sot_sequence",
            "max_prompt_tokens": model.dims.n_text_ctx // 2 - 1,
        },
        "non_speech_tokens": sorted(tok.non_speech_tokens),
        "suppress_tokens_minus1": list(task._get_suppress_tokens()),
        "suppress_blank": {"tokens": tok.encode(" ") + [tok.eot],
                           "applies_at": "first sampled position only (tokens.shape[1] == sample_begin)"},
        "max_initial_timestamp_index": round(1.0 / (30 / model.dims.n_audio_ctx)),
        "sample_len": model.dims.n_text_ctx // 2,
        "n_text_ctx": model.dims.n_text_ctx,
    }
    with open(os.path.join(OUT, "decode_options.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    return out


# ---------------------------------------------------------------------------- SOURCE.md
SOURCE_MD = """# Long-form Whisper reference data

Made by `tests/speech/make_whisper_references.py` (run it from the repository root with
`/usr/bin/python3 tests/speech/make_whisper_references.py`; it rewrites every file here).

- `long.wav`: 66.6 s, 16 kHz mono s16, built by the script from `../audio/utt1-3.wav` and
  digital silence: `[utt1, 2 s zeros, utt2, utt3, 1 s zeros]` four times, then `utt1`.
  It spans two full 30 s windows and ends inside the third.
- Everything else comes from OpenAI's own `whisper` Python package (commit c0d2f624, the
  copy in `shared/peers/openai-whisper` with its pure-Python tiktoken stand-in), fp32 on
  the CPU, on the random-weight checkpoint `../model/` converted with the peer's
  `hf_to_openai.py`. The text is gibberish; the files check the algorithm, not quality.
- `transcribe_<run>.json`: one `model.transcribe(audio, fp16=False, **options)` call each:
  the options, the thresholds in effect, the result (`text`, `language`, segments), and
  `attempts`: every decoder call in order (seek, segment size, temperature, the exact
  decoder input `initial_tokens`, output tokens, avg_logprob, compression_ratio,
  no_speech_prob, and whether Whisper's fallback rule fires), grouped into `windows`
  (temperatures tried, fallback taken, skipped as no speech). `torch.manual_seed(0)` is set
  before each run; tokens of attempts at temperature > 0 are random samples, so only
  compare t = 0 attempts (given their `seek` and `initial_tokens`) and the decisions.
  Three runs (`fallback_cr175`, `nospeech_thr2e-6`, `silence3_nospeech`) use non-default
  thresholds so that the random model produces mixed fallback and no-speech decisions.
- `detect_language.json`: `model.detect_language` on `log_mel_spectrogram(pad_or_trim(audio))`
  per file (top language, top 10 with token ids), plus long.wav's first window as
  `transcribe(language=None)` computes it.
- `compression_ratio.json`: `whisper.utils.compression_ratio` (UTF-8 bytes / zlib bytes) on
  sample strings.
- `decode_options.json`: special token ids, SOT sequences, the `<|startofprev|>` prompt
  layout, the non-speech tokens and the full suppress list for `suppress_tokens="-1"`.
"""


# ---------------------------------------------------------------------------------- main
def main():
    info = make_long_wav()
    with open(os.path.join(OUT, "SOURCE.md"), "w") as f:
        f.write(SOURCE_MD)
    print(f"long.wav: {info['samples']} samples = {info['seconds']:.3f} s ({info['layout']})")
    with tempfile.TemporaryDirectory() as td:
        pt = os.path.join(td, "model.pt")
        subprocess.run([sys.executable, os.path.join(PEER, "hf_to_openai.py"),
                        os.path.join(REF, "model"), pt], check=True, stdout=subprocess.DEVNULL)
        model = whisper.load_model(pt, device="cpu")
    model.eval()

    recs = {}
    for name, audio_name, opts in RUNS:
        rec = run_transcribe(model, name, audio_name, opts)
        recs[name] = rec
        if rec["error"]:
            print(f"{name:18s} ERROR {rec['error']}")
            continue
        segs = rec["segments"]
        print(f"{name:18s} {audio_name:13s} lang={rec['language']} segments={len(segs)} "
              f"attempts={len(rec['attempts'])} windows(seek)={[w['seek'] for w in rec['windows']]} "
              f"temps={[w['temperatures_tried'] for w in rec['windows']]} "
              f"skipped={[w['skipped_as_no_speech'] for w in rec['windows']]}")
        print(f"{'':18s} seg seeks={[s['seek'] for s in segs]} "
              f"ntok={[len(s['tokens']) for s in segs]} "
              f"nsp={[round(a['no_speech_prob'], 4) for a in rec['attempts']][:6]}")

    dl = detect_languages(model)
    for n, e in dl["files"].items():
        print(f"detect_language {n:36s} -> {e['language']} "
              f"({e['top10'][0]['prob']:.4f}; 2nd {e['top10'][1]['language']} "
              f"{e['top10'][1]['prob']:.4f})")

    extra = []
    for name in ("greedy", "utt1_greedy"):
        for s in recs[name].get("segments", [])[:2]:
            extra.append(s["text"])
    cr = compression_ratios(extra)
    print("compression_ratio cases:", len(cr["cases"]))

    do = decode_options(model, recs["greedy_prompt"])
    print("initial_prompt decoder input:", do["initial_prompt"]["decoder_input_first_window_from_transcribe"])
    print("suppress list size:", len(do["suppress_tokens_minus1"]),
          "non_speech:", len(do["non_speech_tokens"]))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"total size of {OUT}: {total} bytes")


if __name__ == "__main__":
    main()
