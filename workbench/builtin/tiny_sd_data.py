"""What workbench-tiny-sd learns from: pictures of one coloured shape on white, and their captions.

Every picture is 64x64: a square (32 px a side) or a circle (24 px across) in the middle, in
one of ``COLOURS``, on a white ground. Captions name the colour and the shape in a few
phrasings (``TEMPLATES``). The model is trained until a 10-step generation of every
colour and shape is right by the checks below, which the tests use too:

- ``dominant_colour(pixels)``: the catalogue colour nearest the mean of the shape's middle;
- ``colour_error(pixels, colour)``: the RGB distance of that mean from the colour (the
  build asks for less than ``BUILD_COLOUR_ERROR``, a margin the tests do not need);
- ``shape_of(pixels)``: "square" when the corners of the square's box are coloured, else
  "circle" (those corners lie outside the circle).
"""

from __future__ import annotations

from typing import Any

TINY_SD_ID = "workbench-tiny-sd"
SIZE = 64
DEFAULT_STEPS = 10
# Mild guidance: the model predicts clean latents, and a strong guidance pushes them past
# any picture it learned (the colours drift); 2 keeps negative prompts meaningful.
DEFAULT_GUIDANCE = 2.0
HALF = 16                       # the square's half side, in pixels
RADIUS = 12                     # the circle's: smaller, so the two differ over a wide band

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 70),
    "blue": (50, 80, 220),
    "yellow": (240, 210, 50),
    "purple": (140, 60, 180),
    "orange": (245, 140, 40),
}
SHAPES = ("square", "circle")
WHITE = (255, 255, 255)
BUILD_COLOUR_ERROR = 50.0
TEMPLATES = ("a {colour} {shape}", "a {colour} {shape} on white", "{colour} {shape}",
             "a picture of a {colour} {shape}")

# Words the tokenizer knows whole (anything else is spelled out in characters).
WORDS = sorted({w for t in TEMPLATES for w in t.replace("{colour}", "").replace("{shape}", "").split()}
               | set(COLOURS) | set(SHAPES) | {"background", "image", "of", "the", "cat", "dog", "lighthouse"})


def captions() -> list[tuple[str, str, str]]:
    """(caption, colour, shape) for every phrasing, colour and shape, in a fixed order."""
    return [(t.format(colour=c, shape=s), c, s) for c in COLOURS for s in SHAPES for t in TEMPLATES]


def picture(colour: str, shape: str) -> Any:
    """The picture as a float tensor (3, 64, 64) in [-1, 1] (what the VAE takes)."""
    import torch

    ys, xs = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    cy = cx = (SIZE - 1) / 2
    if shape == "square":
        inside = ((ys - cy).abs() <= HALF - 0.5) & ((xs - cx).abs() <= HALF - 0.5)
    else:
        inside = ((ys - cy) ** 2 + (xs - cx) ** 2) <= RADIUS ** 2
    fill = torch.tensor(COLOURS[colour], dtype=torch.float32)[:, None, None]
    ground = torch.tensor(WHITE, dtype=torch.float32)[:, None, None]
    image = torch.where(inside[None], fill, ground)
    return image / 127.5 - 1.0


# -- checks on an RGB picture (numpy array H x W x 3, 0..255), any size ------------------------
def _scaled(pixels, y: float, x: float):
    h, w = pixels.shape[:2]
    return pixels[min(h - 1, int(round(y * h / SIZE))), min(w - 1, int(round(x * w / SIZE)))]


def middle_mean(pixels) -> tuple[float, float, float]:
    """Mean colour of the shape's middle (the central 16x16 of 64, scaled to the picture)."""
    h, w = pixels.shape[:2]
    block = pixels[h * 3 // 8: h * 5 // 8, w * 3 // 8: w * 5 // 8].reshape(-1, pixels.shape[2])[:, :3]
    mean = block.mean(axis=0)
    return float(mean[0]), float(mean[1]), float(mean[2])


def dominant_colour(pixels) -> str:
    mean = middle_mean(pixels)
    return min(COLOURS, key=lambda c: sum((a - b) ** 2 for a, b in zip(COLOURS[c], mean)))


def colour_error(pixels, colour: str) -> float:
    """How far (RGB distance) the shape's middle is from ``colour``."""
    return sum((a - b) ** 2 for a, b in zip(COLOURS[colour], middle_mean(pixels))) ** 0.5


def corner_whiteness(pixels) -> float:
    """How white the four corners of the square's box are, 0 (coloured) to 1 (white)."""
    c, d = (SIZE - 1) / 2, HALF - 3.5
    values = [_scaled(pixels, c + dy * d, c + dx * d)[:3] for dy in (-1, 1) for dx in (-1, 1)]
    return float(sum(min(v) for v in values) / (4 * 255.0))


def shape_of(pixels) -> str:
    return "circle" if corner_whiteness(pixels) > 0.75 else "square"
