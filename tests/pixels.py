"""Pixel counts the figure and browser tests compare pictures by (PNG bytes in, shares of pixels out)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

C1 = (255, 127, 14)  # matplotlib's second colour: the planner picture's simulated gains


def pixels(png: bytes) -> np.ndarray:
    """The picture's RGB values, signed so differences do not wrap."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def colour_share(png: bytes, rgb: tuple[int, int, int]) -> float:
    """Share of pixels within 12 of ``rgb`` in every channel (anti-aliased edges count as the colour)."""
    return float((np.abs(pixels(png) - np.array(rgb)).max(axis=2) <= 12).mean())


def differing_share(a: bytes, b: bytes) -> float:
    """Share of pixels that differ by more than a rounding step in any channel."""
    return float((np.abs(pixels(a) - pixels(b)).max(axis=2) > 8).mean())
