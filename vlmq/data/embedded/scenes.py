"""Generated shape scenes with five differently phrased reference captions (COCO layout).

Each scene holds 1-3 objects (shape, colour, size) in distinct columns (left, middle,
right) on a flat background. Everything follows from (seed, split, index), so a split is
rebuilt identically anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 96
_SCALE = 2  # draw at twice the size and downsample, for anti-aliased edges

SHAPES = ("circle", "square", "triangle", "star")
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (240, 210, 20),
    "purple": (140, 40, 170),
    "orange": (245, 130, 20),
}
BACKGROUNDS = {
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "brown": (120, 80, 45),
}
SIZES = {"small": 0.085, "large": 0.15}  # radius as a fraction of the image side
COLUMNS = ("left", "middle", "right")
_WHERE = {"left": "on the left", "middle": "in the middle", "right": "on the right"}
_COUNT = {1: "one", 2: "two", 3: "three"}
PROMPT = "Provide a one-sentence caption for the provided image."


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str
    column: str

    def phrase(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[SceneObject, ...]  # sorted left to right


def sample_scene(rng: np.random.Generator) -> Scene:
    count = int(rng.integers(1, 4))
    columns = sorted(rng.choice(3, size=count, replace=False).tolist())
    objects = tuple(
        SceneObject(
            shape=SHAPES[int(rng.integers(len(SHAPES)))],
            colour=list(COLOURS)[int(rng.integers(len(COLOURS)))],
            size=list(SIZES)[int(rng.integers(len(SIZES)))],
            column=COLUMNS[c],
        )
        for c in columns
    )
    return Scene(background=list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))], objects=objects)


def _polygon(shape: str, cx: float, cy: float, r: float, turn: float) -> list[tuple[float, float]]:
    if shape == "square":
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        return [(cx + r * 0.85 * x, cy + r * 0.85 * y) for x, y in corners]
    if shape == "triangle":
        angles = [turn - math.pi / 2 + k * 2 * math.pi / 3 for k in range(3)]
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]
    points = []  # a five-pointed star
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        a = turn - math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def render(scene: Scene, rng: np.random.Generator) -> Image.Image:
    side = SIZE * _SCALE
    img = Image.new("RGB", (side, side), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(img)
    for obj in scene.objects:
        r = SIZES[obj.size] * side * float(rng.uniform(0.9, 1.1))
        col = COLUMNS.index(obj.column)
        cx = side * (col + 0.5) / 3 + float(rng.uniform(-0.02, 0.02)) * side
        cy = side * float(rng.uniform(0.32, 0.68))
        fill = COLOURS[obj.colour]
        if obj.shape == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            turn = float(rng.uniform(-0.15, 0.15))
            draw.polygon(_polygon(obj.shape, cx, cy, r, turn), fill=fill)
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def captions(scene: Scene) -> list[str]:
    """Five references for one scene; the first is the canonical one the zoo model learns."""
    objs = scene.objects
    bg = scene.background
    placed = _join([f"{o.phrase()} {_WHERE[o.column]}" for o in objs])
    listed = _join([o.phrase() for o in objs])
    n = len(objs)
    shapes_word = "shape" if n == 1 else "shapes"
    if n == 1:
        relation = f"there is {objs[0].phrase()} {_WHERE[objs[0].column]} of the picture"
    elif n == 2:
        relation = f"there is {objs[0].phrase()} to the left of {objs[1].phrase()}"
    else:
        relation = f"from left to right there are {listed}"
    return [
        f"{placed} on a {bg} background",
        f"a {bg} background with {placed}",
        f"{_COUNT[n]} {shapes_word} on a {bg} background: {listed}",
        relation,
        f"a picture of {listed} against a plain {bg} backdrop",
    ]


def sample(seed: int, index: int) -> dict:
    """One scene: its image, references and structure, from (seed, index) alone."""
    rng = np.random.default_rng([seed, index])
    scene = sample_scene(rng)
    return {"image": render(scene, rng), "captions": captions(scene), "scene": scene}
