"""Untrusted sessions and presets: every corrupt, hostile or foreign file is refused with one sentence, the
previous state is kept, and the app keeps running (issue "Bad input is refused, bounded or explained")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch  # noqa: F401 — torch before Qt

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.session import MAX_FILE_BYTES, load_preset, load_presets, load_session  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import SpecError  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")

SMALL = dict(ensemble=2000, width=16)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _session(state=None, **top) -> str:
    d = {"kind": "nnqft-explorer-session", "format": 1, "state": {"width": 12} if state is None else state}
    d.update(top)
    return json.dumps(d)


def _vs(view_settings) -> str:
    return _session({"view_settings": view_settings})


# (name, file content as str or bytes): each must be refused by load_session with a SpecError.
BAD_SESSIONS = [
    ("huge_caption", None),                                     # written sparse, > 1 MB (see _write)
    ("binary", os.urandom(3000)),
    ("binary_big", None),
    ("png", PNG),
    ("not_json", "{not json"),
    ("truncated", _session()[:-7]),
    ("empty", ""),
    ("latin1", "{\"kind\": \"caf\xe9\"}".encode("latin-1")),
    ("int_5000_digits", '{"kind": "nnqft-explorer-session", "format": 1, "state": {"width": ' + "9" * 5000 + "}}"),
    ("float_huge_int", _session({"sigma_w": 10**40})),
    ("nan", '{"kind": "nnqft-explorer-session", "format": 1, "state": {"x1": NaN}}'),
    ("infinity", '{"kind": "nnqft-explorer-session", "format": 1, "state": {"x1": -Infinity}}'),
    ("deep_nesting", "[" * 200_000 + "]" * 200_000),
    ("deep_nesting_obj", '{"a":' * 50 + "1" + "}" * 50),
    ("foreign", json.dumps({"kind": "something-else", "state": {}})),
    ("list_top", "[1, 2, 3]"),
    ("wrong_format", _session(format=99)),
    ("state_not_object", _session("width=3")),
    ("unknown_key", _session({"colour": "red"})),
    ("width_negative", _session({"width": -3})),
    ("width_string", _session({"width": "wide"})),
    ("width_fraction", _session({"width": 3.5})),
    ("width_bool", _session({"width": True})),
    ("ensemble_1e10", _session({"ensemble": 1e10})),
    ("depth_zero", _session({"depth": 0})),
    ("sigma_w_string", _session({"sigma_w": "1.5"})),
    ("activation_unknown", _session({"activation": "swish9"})),
    ("activation_number", _session({"activation": 5})),
    ("x_range_inverted", _session({"x_min": 3.0, "x_max": -3.0})),
    ("lr_negative", _session({"lr": -1.0})),
    ("title_object", _session({"title": {"a": 1}})),
    ("title_too_long", _session({"title": "T" * 5000})),
    ("caption_too_long", _session({"caption": "c" * 100_000})),
    ("sequential_rademacher", _session({"independence": "sequential", "prior": "rademacher",
                                        "independence_strength": 0.5})),
    ("view_settings_list", _vs([1, 2])),
    ("view_settings_field_5", _vs({"field": 5})),
    ("field_dim_abc", _vs({"field": {"dim": "abc"}})),
    ("field_dim_9", _vs({"field": {"dim": 9}})),
    ("field_sampler_5", _vs({"field": {"sampler": 5}})),
    ("field_sampler_unknown", _vs({"field": {"sampler": "gibbs"}})),
    ("field_ensemble_1e10", _vs({"field": {"ensemble": 1e10}})),
    ("field_mass_negative", _vs({"field": {"mass": -1.0}})),
    ("field_unknown_key", _vs({"field": {"temperature": 3}})),
    ("unknown_view", _vs({"spectra": {}})),
    ("correlators_sweep_string", _vs({"correlators": {"width_sweep": "yes"}})),
]


def _write(path, name, content):
    if name == "huge_caption":
        # 50 MB caption: must be refused from its size, without being read
        with open(path, "w") as f:
            f.write('{"kind": "nnqft-explorer-session", "format": 1, "state": {"caption": "')
            f.seek(50 * 2**20)
            f.write('"}}')
    elif name == "binary_big":
        with open(path, "wb") as f:
            f.write(os.urandom(1024))
            f.seek(50 * 2**20)
            f.write(b"\0")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.fixture
def window(open_window):
    return open_window(AppState(**SMALL))


def test_every_corrupt_session_is_refused_with_a_message_and_the_previous_state_is_kept(window, tmp_path):
    assert len(BAD_SESSIONS) >= 40
    state_before = window.state.to_dict()
    for name, content in BAD_SESSIONS:
        path = tmp_path / f"{name}.json"
        _write(path, name, content)
        t0 = time.perf_counter()
        with pytest.raises(SpecError) as info:
            load_session(path)
        assert time.perf_counter() - t0 < 2.0, name        # big files are refused from their size
        msg = str(info.value)
        assert msg and "\n" not in msg and len(msg) < 300, (name, msg)
        n_errors = len(window.errors)
        assert not window.open_session(path), name
        assert len(window.errors) > n_errors and path.name in window.errors[-1], (name, window.errors[-1:])
        assert "previous settings are kept" in window.errors[-1]
        assert window.state.to_dict() == state_before, name
    window.update_state(width=20)                       # still alive and computing
    assert window.views["outputs"].last_result.width == 20


def test_messages_quoting_file_contents_are_not_rendered_as_markup(window, tmp_path):
    path = tmp_path / "markup.json"
    path.write_text(_session({"<img src='x.png'>": 1}))
    assert not window.open_session(path)
    shown = window.status.message.text()
    assert "<img" not in shown and "&lt;img" in shown


def test_a_session_file_is_refused_by_size_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    _write(path, "huge_caption", None)
    monkeypatch.setattr("pathlib.Path.read_text", lambda *a, **k: pytest.fail("read whole"))
    with pytest.raises(SpecError, match="MB"):
        load_session(path)
    assert path.stat().st_size > MAX_FILE_BYTES


def test_a_good_session_still_opens_and_a_markup_title_is_shown_as_plain_text(window, tmp_path):
    path = tmp_path / "good.json"
    path.write_text(_session({"width": 12, "title": "<img src='x.png'><b>bold</b>", "caption": "a < b & c",
                              "view": "field", "view_settings": {"field": {"dim": 2, "ensemble": 500.0}}}))
    assert window.open_session(path)
    # an old session's field ensemble (a float, coerced) becomes the shared ensemble control (app/migrate.py)
    assert window.state.width == 12 and window.state.ensemble == 500
    assert window.state.view_settings["field"] == {"dim": 2}
    text = window.banner.text()
    assert "<img" not in text and "&lt;img" in text and "<b>" not in text and "a &lt; b &amp; c" in text


BAD_PRESETS = [
    ("truncated", '{"title": "T", "caption": "C", "settings": {"width": 3'),
    ("no_title", json.dumps({"caption": "C", "settings": {}})),
    ("png_named_json", PNG),
    ("width_negative", json.dumps({"title": "T", "caption": "C", "settings": {"width": -5}})),
    ("settings_list", json.dumps({"title": "T", "caption": "C", "settings": [1]})),
    ("title_number", json.dumps({"title": 5, "caption": "C", "settings": {}})),
    ("unknown_setting", json.dumps({"title": "T", "caption": "C", "settings": {"colour": 1}})),
    ("deep", "[" * 100_000),
]


@pytest.fixture
def bad_presets_dir(tmp_path, monkeypatch):
    d = tmp_path / "presets"
    d.mkdir()
    for name, content in BAD_PRESETS:
        _write(d / f"{name}.json", name, content)
    (d / "picture.png").write_bytes(PNG)
    (d / "good.json").write_text(json.dumps({"title": "<i>Good</i>", "caption": "<img src='x.png'>fine",
                                             "settings": {"width": 5, "view": "outputs"}}))
    monkeypatch.setenv("NNQFT_PRESETS_DIR", str(d))
    return d


def test_bad_presets_are_skipped_with_a_message_and_the_app_starts(bad_presets_dir, qtbot, tmp_path):
    errors: list[str] = []
    presets = load_presets(errors)
    assert [p.name for p in presets] == ["good"]
    assert len(errors) == len(BAD_PRESETS)
    for name, _ in BAD_PRESETS:
        assert any(f"{name}.json" in e for e in errors), name
        with pytest.raises(SpecError):
            load_preset(bad_presets_dir / f"{name}.json")
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(AppState(**SMALL), threaded=False, settings=settings)
    qtbot.addWidget(w)
    try:
        assert [p.name for p in w.presets] == ["good"]
        assert sum("preset skipped" in e for e in w.errors) == len(BAD_PRESETS)
        assert w.apply_preset(w.presets[0]) and w.state.width == 5
        assert "<i>" not in w.banner.text() and "<img" not in w.banner.text()
        tips = [a.toolTip() for a in w.presets_menu.actions()]
        assert tips and all("<img" not in t for t in tips)
    finally:
        assert w.shutdown()


def _launch(args, env_extra, expect: str, timeout_s: float = 120.0) -> str:
    """Start the real entry point; it must print `expect` on stderr and keep running (no abort)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "app", *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env=env, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + timeout_s
        while expect not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
        assert expect in seen, seen[-2000:]
        time.sleep(1.0)
        assert proc.poll() is None, f"exited with {proc.returncode}: {seen[-2000:]}"
        return seen
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_command_line_with_a_bad_session_or_bad_preset_runs_on_defaults(bad_presets_dir, tmp_path):
    bad = tmp_path / "that.json"
    bad.write_text(_vs({"field": 5}))
    seen = _launch(["--preset", "width_negative", str(bad)], {"NNQFT_PRESETS_DIR": str(bad_presets_dir)},
                   "that.json")
    assert "width_negative.json" in seen and "width must be" in seen and "Traceback" not in seen
