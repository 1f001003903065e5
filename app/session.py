"""Sessions (JSON files holding every setting, the seed, versions and device) and presets.

A session reopens to the same numbers: results depend only on the state (and the device's arithmetic), and
the state is stored whole. A preset is a partial state applied over the defaults plus a title and caption.
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass
from pathlib import Path

from nnqft_engine import SpecError

from .resources import resource_path
from .state import AppState

SESSION_KIND = "nnqft-explorer-session"
SESSION_FORMAT = 1


def versions() -> dict:
    import numpy
    import pyqtgraph
    import PySide6
    import torch

    import nnqft_engine
    return {"nnqft_explorer": nnqft_engine.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "PySide6": PySide6.__version__, "pyqtgraph": pyqtgraph.__version__,
            "python": platform.python_version()}


def session_dict(state: AppState, device_label: str) -> dict:
    return {"kind": SESSION_KIND, "format": SESSION_FORMAT,
            "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": versions(), "device": device_label, "state": state.to_dict()}


def save_session(path: str | Path, state: AppState, device_label: str) -> None:
    text = json.dumps(session_dict(state, device_label), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_session(path: str | Path) -> AppState:
    """The saved state; SpecError with one readable sentence for unreadable, corrupt or foreign files."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read {p.name}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{p.name} is not a valid session file (not JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("kind") != SESSION_KIND:
        raise SpecError(f"{p.name} is not an NN-QFT Explorer session file")
    if data.get("format") != SESSION_FORMAT:
        raise SpecError(f"{p.name} has session format {data.get('format')!r}; this version reads {SESSION_FORMAT}")
    try:
        return AppState.from_dict(data.get("state"))
    except SpecError as exc:
        raise SpecError(f"{p.name}: {exc}") from None


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    caption: str
    settings: dict

    def state(self, current: AppState | None = None) -> AppState:
        """Defaults + the preset; the viewer's theme and device are kept."""
        keep = {} if current is None else {"theme": current.theme, "device": current.device}
        return AppState.from_dict({**self.settings, "title": self.title, "caption": self.caption, **keep})


def load_presets() -> list[Preset]:
    out = []
    for f in sorted(resource_path("presets").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        out.append(Preset(name=f.stem, title=data["title"], caption=data["caption"], settings=data["settings"]))
    return out
