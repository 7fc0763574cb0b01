#!/usr/bin/python3
"""Writes the seed corpora of the harnesses whose inputs are text or simple binary
layouts (fuzz/corpus/<harness>/). The image decoders' seeds come from
fuzz/make_image_seeds.cpp instead, which uses the libraries' own encoders.

Seeds are what real clients and checkpoints send, kept small (a fuzzer mutates a small
input many more times per second), plus a few inputs at the edges the parsers check.
Run from anywhere with Debian's python3; it rewrites only the files it names.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(harness, name, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(CORPUS, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


TINY_PNG = read("tests/data/clip-reference/images/tiny_1x1.png")
TINY_PNG_B64 = base64.b64encode(TINY_PNG).decode()
DATA_URL = "data:image/png;base64," + TINY_PNG_B64


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def kserve():
    image = {"name": "IMAGE", "datatype": "BYTES", "shape": [1], "data": [TINY_PNG_B64]}
    text = {"name": "TEXT", "datatype": "BYTES", "shape": [2], "data": ["a cat", "un chien \u00e9"]}
    bodies = {
        "image_and_text": {"id": "req-7", "inputs": [image, text]},
        "text_only": {"inputs": [text], "outputs": [{"name": "TEXT_EMBEDS"}]},
        "image_only_binary_output": {
            "inputs": [image],
            "outputs": [{"name": "IMAGE_EMBEDS", "parameters": {"binary_data": True}}],
        },
        "nested_shape": {
            "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [2, 2], "data": [["a", "b"], ["c", "d"]]}]
        },
        "parameters": {
            "inputs": [text],
            "parameters": {"binary_data_output": True, "timeout": 5000},
            "outputs": [{"name": "PROBS"}, {"name": "LOGITS_PER_IMAGE"}],
        },
        "urlsafe_base64": {
            "inputs": [{"name": "IMAGE", "datatype": "BYTES", "shape": [1],
                        "data": [base64.urlsafe_b64encode(TINY_PNG).decode().rstrip("=")]}]
        },
        "wrong_datatype": {"inputs": [{"name": "TEXT", "datatype": "FP32", "shape": [1], "data": [1.0]}]},
        "zero_shape": {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [0], "data": []}]},
    }
    for name, body in bodies.items():
        write("kserve_json", name + ".json", compact(body))
    write("kserve_json", "not_json", "{\"inputs\": [")

    # Binary tensor data: "<Inference-Header-Content-Length>\n" + JSON header + tail, the
    # tail holding each BYTES element as a 4-byte little-endian length and its bytes.
    def elements(*items):
        return b"".join(struct.pack("<I", len(i)) + i for i in items)

    def binary(name, inputs, tails, extra=None):
        header = {"inputs": inputs}
        header.update(extra or {})
        h = compact(header).encode()
        write("kserve_binary", name, str(len(h)).encode() + b"\n" + h + b"".join(tails))

    img_tail = elements(TINY_PNG)
    txt_tail = elements(b"a photo of a cat", b"a dog")
    binary("image_and_text",
           [{"name": "IMAGE", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(img_tail)}},
            {"name": "TEXT", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": len(txt_tail)}}],
           [img_tail, txt_tail], {"outputs": [{"name": "PROBS", "parameters": {"binary_data": True}}]})
    binary("mixed_json_and_binary",
           [{"name": "IMAGE", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(img_tail)}},
            {"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["json text"]}],
           [img_tail])
    binary("truncated_element",
           [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 9}}],
           [struct.pack("<I", 100) + b"short"])
    h = compact({"inputs": [text]}).encode()
    write("kserve_binary", "no_tail", str(len(h)).encode() + b"\n" + h)
    write("kserve_binary", "length_past_body", b"99999\n" + h)
    write("kserve_binary", "length_not_a_number", b"12a\n" + h)


def openai():
    bodies = {
        "one_text": {"model": "clip", "input": "a photo of a cat"},
        "texts": {"model": "clip", "input": ["one", "two", "three"], "encoding_format": "base64"},
        "data_url": {"model": "clip", "input": DATA_URL},
        "typed_parts": {"model": "clip", "input": [
            {"type": "text", "text": "a cat"},
            {"type": "image", "image": TINY_PNG_B64},
            {"type": "image_url", "image_url": {"url": DATA_URL}},
            {"type": "image_url", "image_url": DATA_URL}], "dimensions": 16},
        "token_ids": {"model": "clip", "input": [[1, 2, 3]]},
        "remote_url": {"model": "clip", "input": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        "text_data_url": {"model": "clip", "input": ["data: a table", "data:text/plain;base64,aGk="]},
        "user_and_float": {"model": "clip", "input": "\u00e9\u00e9\u00e9", "user": "u1", "encoding_format": "float"},
    }
    for name, body in bodies.items():
        write("openai_embeddings", name + ".json", compact(body))


def safetensors():
    def st(tensors, metadata=None, pad=True):
        header, data = {}, b""
        if metadata:
            header["__metadata__"] = metadata
        for name, dtype, shape, raw in tensors:
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        h = compact(header).encode()
        if pad:
            h += b" " * (-(8 + len(h)) % 8)  # the writer keeps tensor data 8-byte aligned
        return struct.pack("<Q", len(h)) + h + data

    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    clip = [
        ("text_model.embeddings.token_embedding.weight", "F32", [4, 2], f32(*range(8))),
        ("text_model.final_layer_norm.bias", "F16", [2], b"\x00\x3c\x00\xbc"),
        ("vision_model.embeddings.class_embedding", "BF16", [2], b"\x80\x3f\x00\x40"),
        ("logit_scale", "F32", [], f32(2.6592)),
        ("position_ids", "I64", [1, 2], struct.pack("<2q", 0, 1)),
    ]
    write("safetensors_header", "clip_like.safetensors", st(clip, {"format": "pt"}))
    write("safetensors_header", "int8.safetensors",
          st([("w", "I8", [2, 3], bytes(range(6))), ("w.scale", "F32", [2], f32(0.5, 0.25)),
              ("mask", "BOOL", [3], b"\x01\x00\x01"), ("u", "U8", [1], b"\x07"), ("d", "F64", [1], b"\0" * 8),
              ("i", "I32", [1], b"\0" * 4)]))
    write("safetensors_header", "empty_tensor.safetensors", st([("e", "F32", [0, 4], b"")], pad=False))
    write("safetensors_header", "no_tensors.safetensors", st([], {"note": "metadata only"}))
    # Issue 9's hostile checkpoint: a shape whose byte size wraps around 2^64 to zero.
    write("safetensors_header", "overflow_shape.safetensors", st([("w", "F32", [2 ** 62, 64], b"")]))
    bad = st([("t", "F32", [2], f32(1, 2))])
    write("safetensors_header", "truncated.safetensors", bad[:-3])


def configs():
    write("hf_config", "clip_config.json", read("model_repository/clip/1/config.json"))
    write("hf_config", "preprocessor_config.json", read("model_repository/clip/1/preprocessor_config.json"))
    write("hf_config", "minimal.json", compact({"projection_dim": 8, "text_config": {"hidden_size": 8,
          "num_attention_heads": 2, "intermediate_size": 16, "num_hidden_layers": 1, "hidden_act": "gelu"},
          "vision_config": {"image_size": 32, "patch_size": 16, "hidden_size": 8, "num_attention_heads": 1,
                            "intermediate_size": 16, "num_hidden_layers": 1}}))
    write("hf_config", "crop_object.json", compact({"size": 336, "crop_size": {"height": 336, "width": 336},
          "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "rescale_factor": 0.5}))

    # config.pbtxt: the model repository's own, and the test's literals (written as Triton's
    # documentation writes model configurations).
    for path in ["model_repository/clip/config.pbtxt"]:
        if os.path.exists(os.path.join(ROOT, path)):
            write("model_config_pbtxt", "model_repository_clip.pbtxt", read(path))
    test = read("tests/io/model_config_test.cpp").decode()
    literals = re.findall(r'R"pbtxt\((.*?)\)pbtxt"', test, re.S) + re.findall(r'Parse\(R"\((.*?)\)"\)', test, re.S)
    for i, text in enumerate(literals[:12]):
        write("model_config_pbtxt", "test_literal_%02d.pbtxt" % i, text)
    write("model_config_pbtxt", "angle_brackets_lists.pbtxt",
          'name: "m" max_batch_size: 4\ninstance_group < count: 2 kind: KIND_CPU >\n'
          'dynamic_batching { preferred_batch_size: [2, 4] max_queue_delay_microseconds: 100 }\n'
          'parameters { key: "precision" value: { string_value: "bf16" } };\n'
          'version_policy { specific { versions: [1, 3] } }\n')


def tokenizer():
    # First byte: context length - 1 (modulo 80); the rest is the text.
    texts = [
        "a photo of a cat", "A Photo Of Two DOGS!!", "<|startoftext|>hello<|endoftext|>",
        "caf\u00e9 na\u00efve \u00fcber", "\u732b\u306e\u5199\u771f", "emoji \U0001F600\U0001F431",
        "&amp; &lt;b&gt; html &#39;entities&#x27;", "it's we'll they're I'M",
        "   many\t\tspaces \n and\r\nlines  ", "numbers 12345 3.14 1,000",
        "mojibake Ã©tÃ© â€™", "supercalifragilisticexpialidocious" * 3,
    ]
    for i, text in enumerate(texts):
        write("clip_tokenizer", "text_%02d" % i, bytes([76]) + text.encode())
    write("clip_tokenizer", "invalid_utf8", bytes([5]) + b"bad \xff\xfe \xc3 \xe2\x82 end")
    write("clip_tokenizer", "truncating", bytes([3]) + b"one two three four five six")


def real_images():
    # The small ones among the reference images the golden tests use.
    for name in ["tiny_1x1.png", "green_palette.png", "wide_1000x50.png"]:
        write("png_decoder", "reference_" + name, read("tests/data/clip-reference/images/" + name))


def base64_seeds():
    write("base64", "standard", TINY_PNG_B64)
    write("base64", "urlsafe_unpadded", base64.urlsafe_b64encode(b"\xfb\xff\xfe hello").decode().rstrip("="))
    mime = base64.encodebytes(bytes(range(120))).decode()  # wrapped at 76 columns with \n
    write("base64", "mime_lines", mime)
    write("base64", "crlf_lines", mime.replace("\n", "\r\n"))
    write("base64", "bad_char", "aGVsbG8h!")
    write("base64", "bad_padding", "aGk==x")


def jwt():
    secret = b"fuzz-secret-fuzz-secret-fuzz-secret!"  # the harness's fixed secret
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")

    def signed(header, payload):
        signing_input = b64(compact(header).encode()) + "." + b64(compact(payload).encode())
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64(sig)

    good = {"sub": "alice", "iss": "mmserve-fuzz", "aud": "clip-clients", "exp": 1800000000, "nbf": 1600000000,
            "models": ["clip"]}
    hs = {"alg": "HS256", "typ": "JWT"}
    # Even first byte: the raw token.
    write("jwt", "raw_valid", b"\0" + signed(hs, good).encode())
    write("jwt", "raw_alg_none", b"\0" + (b64(compact({"alg": "none"}).encode()) + "." +
                                        b64(compact(good).encode()) + ".").encode())
    write("jwt", "raw_api_key", b"\0fuzz-api-key-0123456789")
    write("jwt", "raw_bad_signature", b"\0" + signed(hs, good)[:-4].encode() + b"AAAA")
    # Odd first byte: header JSON, newline, payload JSON; the harness signs them.
    claims = [
        good,
        {"sub": "bob", "iss": "mmserve-fuzz", "aud": ["x", "clip-clients"], "exp": 1800000000},
        {"sub": "carol", "iss": "mmserve-fuzz", "aud": "clip-clients", "exp": 1000},
        {"sub": "", "iss": "mmserve-fuzz", "aud": "clip-clients", "exp": 1800000000},
        {"sub": "dave", "iss": 7, "aud": "clip-clients", "exp": "soon", "models": "clip"},
        {"sub": "erin", "iss": "mmserve-fuzz", "aud": "clip-clients", "exp": 1e300, "nbf": -1e300},
        {"sub": "frank", "iss": "mmserve-fuzz", "aud": "clip-clients", "exp": 9223372036854775807},
    ]
    for i, payload in enumerate(claims):
        write("jwt", "signed_%d" % i, b"\1" + compact(hs).encode() + b"\n" + compact(payload).encode())
    write("jwt", "signed_alg_not_string", b"\1" + compact({"alg": ["HS256"]}).encode() + b"\n" + compact(good).encode())


def multipart():
    # "<Content-Type>\n<body>", the body as curl -F and browsers send it to /predict.
    b = "----mmsBoundary7MA4YWxkTrZu0gW"
    ct = "multipart/form-data; boundary=" + b
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"cat.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + TINY_PNG + \
           (f"\r\n--{b}\r\nContent-Disposition: form-data; name=\"texts\"\r\n\r\n"
            f"[\"a cat\", \"a dog\"]\r\n--{b}--\r\n").encode()
    write("multipart", "predict", ct.encode() + b"\n" + body)
    write("multipart", "quoted_boundary_preamble",
          b'multipart/form-data; charset=utf-8; boundary="a b"\n' +
          b'preamble\r\n--a b\r\ncontent-disposition: form-data; name="texts"\r\n\r\n["x"]\r\n--a b--')
    write("multipart", "unterminated", ct.encode() + b"\n" + body[:60])
    write("multipart", "no_headers", b"multipart/form-data; boundary=x\n--x\r\n\r\ncontent\r\n--x--\r\n")
    write("multipart", "not_multipart", b"application/json\n{}")


if __name__ == "__main__":
    kserve()
    openai()
    safetensors()
    configs()
    real_images()
    tokenizer()
    base64_seeds()
    jwt()
    multipart()
