"""Locating bundled resources (icons, presets, themes) from source and from a PyInstaller bundle."""
from __future__ import annotations

import sys
from pathlib import Path


def resource_dir() -> Path:
    """The `resources/` folder: next to the package in a source tree, under sys._MEIPASS when frozen, and
    the data package `nnqft_app.data` inside the installed package in a wheel install."""
    candidates = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    here = Path(__file__).resolve().parent
    candidates += [here.parent / "resources", here / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def icon_path() -> Path:
    return resource_path("icons", "nnqft.png")
