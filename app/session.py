"""Sessions (JSON files holding every setting, the seed, versions and device) and presets.

A session reopens to the same numbers: results depend only on the state (and the device's arithmetic), and
the state is stored whole. A preset is a partial state applied over the defaults plus a title and caption.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
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


# A session or preset file is a few KB; anything much bigger is not one (refused before it is read).
MAX_FILE_BYTES = 1 << 20
MAX_INT_DIGITS = 30
MAX_DEPTH = 16


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number a setting can take")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a {len(text)}-digit integer is not a setting")
    return int(text)


def _depth(obj, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, stopping at limit + 1 (iterative: no recursion on hostile input)."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return deepest


def read_json_file(path: str | Path, what: str = "session file") -> object:
    """Parsed JSON of a small settings file; SpecError with one sentence for anything else: too big (refused
    without reading it), binary, not UTF-8, not JSON, numbers or nesting no setting has."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise SpecError(f"{p.name} is not a file")
        if size > MAX_FILE_BYTES:
            raise SpecError(f"{p.name} is {size / 2**20:.1f} MB; a {what} is a few KB (at most "
                            f"{MAX_FILE_BYTES // 2**20} MB), so this is not one")
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {p.name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"{p.name} is larger than {MAX_FILE_BYTES // 2**20} MB; a {what} is a few KB")
    if b"\0" in raw[:4096] or raw[:8] == b"\x89PNG\r\n\x1a\n":
        raise SpecError(f"{p.name} is a binary file, not a {what}")
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise SpecError(f"{p.name} is not a valid {what} (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p.name} is not a valid {what} (not JSON: {exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise SpecError(f"{p.name} is not a valid {what} (nested too deeply)") from None
    except ValueError as exc:
        raise SpecError(f"{p.name} is not a valid {what} ({exc})") from None
    if _depth(data) > MAX_DEPTH:
        raise SpecError(f"{p.name} is not a valid {what} (nested too deeply)")
    return data


def load_session(path: str | Path) -> AppState:
    """The saved state; SpecError with one readable sentence for unreadable, corrupt or foreign files (no other
    exception escapes)."""
    p = Path(path)
    data = read_json_file(p, "session file")
    if not isinstance(data, dict) or data.get("kind") != SESSION_KIND:
        raise SpecError(f"{p.name} is not an NN-QFT Explorer session file")
    if data.get("format") != SESSION_FORMAT:
        raise SpecError(f"{p.name} has session format {str(data.get('format'))[:20]!r}; this version reads "
                        f"{SESSION_FORMAT}")
    try:
        return AppState.from_dict(data.get("state"))
    except SpecError as exc:
        raise SpecError(f"{p.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 — untrusted input: whatever slipped past validation is refused
        raise SpecError(f"{p.name}: invalid settings ({type(exc).__name__})") from None


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


def presets_dir() -> Path:
    """The bundled presets; NNQFT_PRESETS_DIR points elsewhere (tests, a lecturer's own set)."""
    return Path(os.environ.get("NNQFT_PRESETS_DIR") or resource_path("presets"))


def load_preset(path: str | Path) -> Preset:
    """One preset file, validated (its state is built once); SpecError with one sentence if it is bad."""
    p = Path(path)
    data = read_json_file(p, "preset")
    if not isinstance(data, dict):
        raise SpecError(f"preset {p.name} is not a JSON object")
    missing = [k for k in ("title", "caption", "settings") if k not in data]
    if missing:
        raise SpecError(f"preset {p.name} has no {', '.join(missing)}")
    unknown = sorted(set(data) - {"title", "caption", "settings"})
    if unknown:
        raise SpecError(f"preset {p.name} has unknown key(s): {', '.join(map(str, unknown[:8]))}")
    if not isinstance(data["title"], str) or not isinstance(data["caption"], str):
        raise SpecError(f"preset {p.name}: title and caption must be text")
    if not isinstance(data["settings"], dict):
        raise SpecError(f"preset {p.name}: settings must be a JSON object")
    preset = Preset(name=p.stem, title=data["title"], caption=data["caption"], settings=data["settings"])
    try:
        preset.state()
    except SpecError as exc:
        raise SpecError(f"preset {p.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise SpecError(f"preset {p.name}: invalid settings ({type(exc).__name__})") from None
    return preset


def load_presets(errors: list[str] | None = None, directory: str | Path | None = None) -> list[Preset]:
    """The valid presets; a bad one is skipped with a one-line reason appended to `errors` (never raises)."""
    out = []
    try:
        files = sorted(Path(directory or presets_dir()).glob("*.json"))
    except OSError as exc:
        if errors is not None:
            errors.append(f"presets folder unreadable: {exc}")
        return out
    for f in files:
        try:
            out.append(load_preset(f))
        except SpecError as exc:
            if errors is not None:
                errors.append(f"preset skipped: {exc}")
    return out
