#!/usr/bin/python3
# Writes tests/data/vision_image/: small images with transparency and what Pillow makes of
# them the way transformers' convert_to_rgb does (convert("RGBA"), alpha_composite over
# opaque white, convert("RGB")), and an RGB image through the original LLaVA's
# expand2square with the CLIP mean colour. Run with Debian's python3-pil:
#   /usr/bin/python3 tests/media/make_vision_image_golden.py
import os
import random

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "vision_image")
rng = random.Random(1234)


def composite_on_white(img):
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def expand2square(img, fill):
    w, h = img.size
    if w == h:
        return img
    if w > h:
        result = Image.new(img.mode, (w, w), fill)
        result.paste(img, (0, (w - h) // 2))
    else:
        result = Image.new(img.mode, (h, h), fill)
        result.paste(img, ((h - w) // 2, 0))
    return result


def save(name, img, expected):
    img.save(os.path.join(OUT, name + ".png"))
    with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
        f.write(expected.tobytes())
    print(name, img.mode, img.size, "->", expected.size)


os.makedirs(OUT, exist_ok=True)
w, h = 37, 23
rgba = Image.new("RGBA", (w, h))
rgba.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256), (i * 7) % 256 if i % 5 else rng.choice([0, 255]))
              for i in range(w * h)])
save("rgba", rgba, composite_on_white(rgba))

la = Image.new("LA", (h, w))
la.putdata([(rng.randrange(256), rng.randrange(256)) for _ in range(w * h)])
save("la", la, composite_on_white(la))

p = Image.new("P", (w, h))
p.putpalette([rng.randrange(256) for _ in range(768)])
p.putdata([rng.randrange(16) for _ in range(w * h)])
p.info["transparency"] = bytes([0, 64, 128, 255, 10, 200, 255, 0, 33, 99, 255, 255, 1, 254, 77, 180])
save("palette_alpha", p, composite_on_white(p))

mean = (0.48145466, 0.4578275, 0.40821073)
fill = tuple(int(x * 255) for x in mean)
for name, size in (("wide", (37, 22)), ("tall", (20, 31))):
    rgb = Image.new("RGB", size)
    rgb.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    save("pad_" + name, rgb, expand2square(rgb, fill))
