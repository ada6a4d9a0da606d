"""Generated images of one word on a sign, a label or a screen, with ten human-like answers.

Fonts are the DejaVu faces that matplotlib ships, so rendering needs no system fonts.
The ten answers vary in case and surface form ("STOP", "stop.", "the stop") and a few are
wrong, as crowd answers are; most of them normalize (VQA rules) to the word itself.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 96
# Short words (3-5 letters) keep reading learnable for a model of a few million parameters.
WORDS = (
    "stop", "exit", "open", "push", "pull", "sale", "hotel", "bank", "cafe", "bar", "pizza",
    "taxi", "bus", "park", "zoo", "shop", "menu", "tea", "wine", "beer", "milk", "bread", "fish",
    "book", "music", "gym", "spa", "fire", "food", "gas", "free", "new", "hot", "cold", "north",
    "south", "east", "west", "city", "road", "lane", "yield", "slow", "keep", "out", "enter",
    "wait", "walk", "cash", "info", "help", "train", "metro", "gate", "hall", "room", "lobby",
    "bike", "car", "boat", "beach", "lake", "river", "hill", "farm", "deli", "candy", "toys",
    "shoes", "hats", "gifts", "tools", "paint", "glass", "wood", "stone", "gold", "red", "blue",
    "green", "love", "peace", "hello", "home", "sweet", "star", "moon", "sun", "rain", "snow",
    "ice", "salt", "rice", "soup", "cake", "jazz",
)
STYLES = ("sign", "label", "screen")
_FACES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
)
_QUESTIONS = {
    style: (
        f"what does the {style} say?",
        f"what is written on the {style}?",
        f"what word is on the {style}?",
    )
    for style in STYLES
}
_GENERIC_QUESTION = "what word is written in the image?"
_SIGN_COLOURS = ((200, 30, 30), (20, 110, 50), (25, 60, 160), (240, 200, 30), (245, 245, 240))
_SCREEN_TEXT = ((60, 240, 90), (250, 180, 40), (235, 235, 235), (90, 200, 255))
_SCENE_BACKDROPS = ((170, 200, 225), (200, 200, 200), (150, 170, 120), (225, 215, 190))


def _font_dir() -> Path:
    import matplotlib  # matplotlib ships the DejaVu faces used here

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=256)
def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_dir() / face), size)


def _contrast(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    light = sum(rgb) / 3 > 140
    return (20, 20, 20) if light else (250, 250, 250)


def _cased(word: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(3))
    return (word.upper(), word.capitalize(), word)[k]


def render(text: str, style: str, rng: np.random.Generator) -> Image.Image:
    """Draw `text` on a plate (sign), a tag (label) or a monitor (screen) somewhere in the frame."""
    img = Image.new("RGB", (SIZE, SIZE), _SCENE_BACKDROPS[int(rng.integers(len(_SCENE_BACKDROPS)))])
    draw = ImageDraw.Draw(img)
    face = _FACES[int(rng.integers(len(_FACES)))]
    # The word spans most of the width, so each letter covers about one 12 px patch.
    target = float(rng.uniform(60, 82))
    size = 36
    font = _font(face, size)
    while draw.textlength(text, font=font) > target and size > 12:
        size -= 1
        font = _font(face, size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left, bottom - top
    pad = int(rng.integers(3, 7))
    pw, ph = tw + 2 * pad, th + 2 * pad
    x0 = min(max(1, (SIZE - pw) // 2 + int(rng.integers(-4, 5))), max(1, SIZE - pw - 1))
    y0 = min(max(2, (SIZE - ph) // 2 + int(rng.integers(-14, 15))), max(2, SIZE - ph - 10))
    box = (x0, y0, x0 + pw, y0 + ph)
    if style == "sign":
        plate = _SIGN_COLOURS[int(rng.integers(len(_SIGN_COLOURS)))]
        post_x = x0 + pw // 2
        draw.rectangle((post_x - 2, y0 + ph, post_x + 2, SIZE), fill=(90, 90, 90))
        draw.rectangle(box, fill=plate, outline=_contrast(plate), width=2)
        ink = _contrast(plate)
    elif style == "label":
        plate = (250, 250, 235)
        draw.rounded_rectangle(box, radius=4, fill=plate, outline=(60, 60, 60), width=1)
        ink = ((20, 20, 20), (150, 20, 20), (20, 40, 140))[int(rng.integers(3))]
    else:
        draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=(60, 60, 70))
        draw.rectangle(box, fill=(10, 12, 20))
        ink = _SCREEN_TEXT[int(rng.integers(len(_SCREEN_TEXT)))]
    draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=ink)
    return img


def _wrong(word: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(4))
    if kind == 0 and len(word) > 3:  # a misread letter dropped
        k = int(rng.integers(len(word)))
        return word[:k] + word[k + 1 :]
    if kind == 1:
        others = [w for w in WORDS if w != word]
        return others[int(rng.integers(len(others)))]
    return ("unanswerable", "yes", "sign", "no idea")[int(rng.integers(4))]


def answers(word: str, shown: str, rng: np.random.Generator) -> list[str]:
    """Ten crowd answers: 7-10 are surface forms of the word, the rest wrong."""
    forms = (
        shown, word, word.upper(), word.capitalize(), f"{word}.", f"{shown}!",
        f'"{shown}"', f"{word} ", f"the {word}", f"{shown}.",
    )
    n_wrong = int(rng.choice([0, 0, 1, 1, 2, 3]))
    picks = [0] + [int(rng.integers(len(forms))) for _ in range(9 - n_wrong)]
    out = [forms[k] for k in picks]
    out += [_wrong(word, rng) for _ in range(n_wrong)]
    order = rng.permutation(10)
    return [out[i] for i in order]


def sample(seed: int, index: int) -> dict:
    """One sign: image, question, answers and the drawn text, from (seed, index) alone."""
    rng = np.random.default_rng([seed, index])
    word = WORDS[int(rng.integers(len(WORDS)))]
    style = STYLES[int(rng.integers(len(STYLES)))]
    shown = _cased(word, rng)
    image = render(shown, style, rng)
    pool = _QUESTIONS[style] + (_GENERIC_QUESTION,)
    question = pool[int(rng.integers(len(pool)))]
    return {
        "image": image,
        "word": word,
        "shown": shown,
        "style": style,
        "question": question,
        "answers": answers(word, shown, rng),
    }
