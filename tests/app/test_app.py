"""The desktop app, driven synchronously (jobs run inline): views follow their controls, sessions reproduce
numbers, bad session files are refused politely, GPU failures fall back to the CPU, exports hold the data."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")

from app.controls import slider_to_width, width_to_slider  # noqa: E402
from app.device_manager import DeviceManager  # noqa: E402
from app.export import export_view  # noqa: E402
from app.main_window import SHORTCUTS  # noqa: E402
from app.session import load_presets, load_session  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import DeviceUnavailable, SpecError  # noqa: E402

SMALL = dict(ensemble=2000, width=16)


pytestmark = pytest.mark.usefixtures("no_thread_left_running")


@pytest.fixture
def make_window(open_window):
    return lambda state=None, devices=None, threaded=False: open_window(state or AppState(**SMALL),
                                                                        devices=devices, threaded=threaded)


def test_outputs_view_follows_width_slider_and_matches_theory_shapes(make_window):
    w = make_window()
    v = w.views["outputs"]
    assert v.last_result.width == 16 and v.last_result.progress.done == 2000
    w.controls.width_slider.setValue(width_to_slider(200))
    assert v.last_result.width == 200 == w.state.width
    r = v.last_result
    assert np.isclose(np.sum(r.density * np.diff(r.edges)), 1.0)
    # depth 1: G2 is exact at every N, so the measured variance must sit on the NNGP within its error
    assert abs(r.var - r.k[0, 0]) < 4 * r.var_err
    assert r.var_fw == pytest.approx(r.k[0, 0], rel=1e-9)
    assert v.finite_check()["ok"]


def test_each_view_updates_when_its_controls_move(make_window):
    w = make_window()
    moves = {"outputs": lambda: w.controls.x1.setValue(1.25),
             "correlators": lambda: w.controls.activation.setCurrentText("relu"),
             "kernels": lambda: w.controls.depth.setValue(3),
             "training": lambda: w.views["training"].dataset.setCurrentText("step")}
    for key, move in moves.items():
        w.show_view(key)
        view = w.views[key]
        assert view.last_result is not None, key
        before = {k: np.array(v, copy=True) for k, v in view.export_data().items()}
        rid = view.last_request_id
        move()
        assert view.last_request_id > rid, f"{key} did not recompute"
        after = view.export_data()
        assert any(not np.array_equal(before[k], after[k]) for k in before if k in after), key
        assert view.finite_check()["ok"], key
    assert w.views["kernels"].last_result.nngp.shape == (81, 81)
    assert np.array_equal(w.views["training"].last_result.ty, np.sign(w.views["training"].last_result.tx))


def test_training_keeps_its_run_when_the_learning_rate_changes(make_window):
    w = make_window(AppState(width=64, train_ensemble=8, steps_per_frame=5))
    w.show_view("training")
    tv = w.views["training"]
    tv.step_once()
    t1 = tv.last_result.t
    assert t1 > 0
    w.update_state(lr=0.001)          # no restart …
    tv.step_once()
    t2 = tv.last_result.t
    assert t2 == pytest.approx(t1 + 5 * 0.001)     # … and the new step is used (5 steps of η = 0.001)
    tv.restart()
    assert tv.last_result.t == 0.0


def test_session_save_and_load_reproduces_the_numbers(make_window, tmp_path):
    state = AppState(width=7, activation="tanh", prior="laplace", sigma_w=1.7, seed=11, ensemble=3000, x1=0.3)
    a = make_window(state)
    path = tmp_path / "talk.json"
    a.save_session(path)
    data = json.loads(path.read_text())
    assert data["state"]["seed"] == 11 and data["versions"]["torch"] and data["device"]
    b = make_window(AppState())
    assert b.open_session(path)
    ra, rb = a.views["outputs"].last_result, b.views["outputs"].last_result
    for key in ("var", "var_err", "kurt", "density", "scatter"):
        assert np.array_equal(getattr(ra, key), getattr(rb, key)), key
    assert str(path) in b.recent_sessions()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"kind": "something-else", "state": {}}),
                                     json.dumps({"kind": "nnqft-explorer-session", "format": 1,
                                                 "state": {"width": -3}}),
                                     json.dumps({"kind": "nnqft-explorer-session", "format": 1,
                                                 "state": {"colour": "red"}})])
def test_corrupt_or_foreign_session_gives_a_message_and_the_app_keeps_running(make_window, tmp_path, content):
    w = make_window()
    path = tmp_path / "bad.json"
    path.write_text(content)
    state_before = w.state.to_dict()
    assert not w.open_session(path)
    assert w.errors and "bad.json" in w.errors[-1]
    assert w.state.to_dict() == state_before
    with pytest.raises(SpecError):
        load_session(path)
    w.update_state(width=20)                       # still alive and computing
    assert w.views["outputs"].last_result.width == 20


def test_missing_gpu_falls_back_to_cpu_with_a_message(make_window):
    def no_gpu(name):
        raise DeviceUnavailable("CUDA was requested but no CUDA GPU is available (injected)")
    w = make_window(AppState(device="cuda", **SMALL), devices=DeviceManager(resolve=no_gpu))
    assert w.device_label.startswith("CPU")
    assert any("injected" in e and "CPU" in e for e in w.errors)
    assert w.views["outputs"].finite_check()["ok"]


def test_gpu_failing_during_computation_falls_back_to_cpu(make_window):
    # The injected resolver claims a GPU exists; the engine then fails to use it, mid-request.
    w = make_window(AppState(device="cuda", **SMALL), devices=DeviceManager(resolve=lambda n: torch.device("cuda")))
    assert "cuda" in w.devices.failed
    assert w.device_label.startswith("CPU")
    assert any("falling back to the CPU" in e for e in w.errors)
    assert w.views["outputs"].last_result.progress.done == SMALL["ensemble"]


@pytest.mark.slow
def test_export_writes_png_csv_npz_with_all_plotted_data(make_window, tmp_path):
    w = make_window()
    files = export_view(w.views["outputs"], tmp_path / "outputs.png")
    names = {f.name for f in files}
    assert {"outputs.png", "outputs.csv", "outputs.npz"} <= names
    svg = (tmp_path / "outputs.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<path" in svg or "<polyline" in svg
    npz = np.load(tmp_path / "outputs.npz")
    assert set(npz.files) == set(w.views["outputs"].export_data()) | {"settings_json"}
    header = (tmp_path / "outputs.csv").read_text().splitlines()[0]
    assert "hist_density" in header and "scatter_f_x1" in header
    # The settings that reproduce the numbers: a JSON sidecar and the same text in the NPZ.
    sidecar = json.loads((tmp_path / "outputs.json").read_text())
    assert AppState.from_dict(sidecar["state"]) == w.state and sidecar["view"] == "outputs"
    assert json.loads(str(npz["settings_json"]))["state"] == w.state.to_dict()
    w.show_view("kernels")
    files = export_view(w.views["kernels"], tmp_path / "kernels")
    assert any(f.suffix == ".svg" for f in files)   # images embedded as bitmaps, the rest vectors
    w.show_view("correlators")
    export_view(w.views["correlators"], tmp_path / "corr")
    npz = np.load(tmp_path / "corr.npz")
    assert {"sweep_G4c_err", "sweep_G6c_err", "g2_x1_err", "g4c_pair_err"} <= set(npz.files)


def test_presets_load_show_their_caption_and_switch_view(make_window):
    presets = load_presets()
    assert len(presets) >= 6
    w = make_window()
    for p in presets:
        assert p.title and p.caption
        st = p.state(w.state)
        assert st.title == p.title
    lazy = next(p for p in presets if "lazy" in p.name)
    w.apply_preset(lazy)
    assert w.current_view().key == "training"
    assert lazy.title in w.banner.text()


def test_shortcuts_are_bound_and_listed(make_window):
    w = make_window()
    bound = {a.shortcut().toString() for a in w.actions()}
    for key in ("Space", "N", "F", "1", "2", "3", "4", "Ctrl+S", "Ctrl+O", "Ctrl+E", "F1"):
        assert key in bound, key
    listed = " ".join(k for k, _ in SHORTCUTS)
    for key in ("Space", "N", "F", "Ctrl+S", "Ctrl+O", "Ctrl+E"):
        assert key in listed
    seed = w.state.seed
    w.new_draw()
    assert w.state.seed == seed + 1


def test_theme_switch_recolours_plots(make_window):
    w = make_window()
    canvas = w.views["outputs"].canvas
    w.update_state(theme="light")
    assert canvas.backgroundBrush().color().name() == "#ffffff"
    w.update_state(theme="dark")
    assert canvas.backgroundBrush().color().name() == "#12151a"


def test_invalid_change_is_refused_with_a_message(make_window):
    w = make_window()
    assert not w.update_state(sigma_w=-1.0)
    assert w.state.sigma_w == AppState().sigma_w and "sigma_w" in w.errors[-1]


def test_width_slider_is_logarithmic_over_one_to_1e5():
    assert slider_to_width(0) == 1 and slider_to_width(width_to_slider(100_000)) == 100_000
    for n in (2, 10, 32, 100, 1000, 4000):
        assert abs(slider_to_width(width_to_slider(n)) - n) / n < 0.05


def test_state_round_trips_and_validates():
    s = AppState(width=9, view_settings={"field": {"mass": 1.0}})
    assert AppState.from_dict(s.to_dict()) == s
    with pytest.raises(SpecError):
        AppState.from_dict({"activation": "nope"})
    with pytest.raises(SpecError):
        AppState.from_dict({"width": "wide"})


def _emit_many(guard: bool):
    import subprocess
    import sys
    code = (("from app.compat import install_refcount_guard; install_refcount_guard()\n" if guard else "")
            + "from PySide6 import QtCore\n"
            "class E(QtCore.QObject):\n    s = QtCore.Signal(int)\n"
            "app_ = QtCore.QCoreApplication([]); e = E(); out = []\n"
            "e.s.connect(lambda i: out.append(i))\n"
            "for i in range(20000): e.s.emit(i)\n"
            "assert len(out) == 20000\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_many_signals_do_not_exhaust_singleton_refcounts():
    """With the start-up guard (app/compat.py) 20000 signals run in a fresh interpreter."""
    res = _emit_many(guard=True)
    assert res.returncode == 0, res.stderr[-500:]


def test_the_guard_is_fenced_to_where_the_bug_shows():
    """The probe sees the bug exactly where it aborts the interpreter: without the guard, 20000 signals
    abort iff `signals_leak_references()` (on CPython < 3.12 with PySide6 6.12 both hold)."""
    import subprocess
    import sys
    probe = subprocess.run([sys.executable, "-c", "from app.compat import signals_leak_references as s; "
                            "print(s())"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr[-500:]
    leaks = probe.stdout.strip() == "True"
    assert leaks == (_emit_many(guard=False).returncode != 0)


@pytest.mark.slow
def test_an_ensemble_without_finite_variance_is_explained_not_shown_as_nan(make_window):
    """Deep gauss-net under a Student-t prior: E[φ²] = ∞ (NNGP infinite) and finite networks overflow."""
    w = make_window()
    w.update_state(activation="gauss-net", prior="student-t", depth=3, ensemble=4000)
    r = w.views["outputs"].last_result
    assert not np.isfinite(r.k[0, 0]) and r.nonfinite > 0
    text = w.views["outputs"].numbers.text()
    assert "No finite variance" in text and "nan" not in text.lower()
    assert np.isfinite(r.edges).all() and r.density.sum() > 0   # bins from the data, not from ∞
    for key in ("correlators", "kernels"):
        w.show_view(key)
        assert not [e for e in w.errors if "could not draw" in e], w.errors
        notes = " ".join(n.toPlainText() for n in w.views[key]._notes)
        assert "NNGP is infinite" in notes, key
    # Back to a healthy network: the sentence goes away and numbers return.
    w.show_view("outputs")
    w.update_state(activation="erf", prior="gaussian", depth=1)
    assert "No finite variance" not in w.views["outputs"].numbers.text()
    assert np.isfinite(w.views["outputs"].last_result.var)


@pytest.mark.slow
def test_the_dock_shows_only_the_controls_of_the_view_on_screen(make_window):
    w = make_window()
    c = w.controls
    shown = lambda widget: widget.isVisibleTo(w.dock_body)  # noqa: E731
    assert shown(c.width_slider) and shown(c.ensemble_slider)
    w.show_view("kernels")            # infinite-width theory: no ensemble, no seed, no width (ntk)
    assert not shown(c.width_slider) and not shown(c.ensemble_slider) and not shown(c.seed)
    w.update_state(parameterization="standard")   # Θ grows with N: the width matters again
    assert shown(c.width_slider)
    w.show_view("field")              # one width, one ensemble: the dock's, not the view's own
    assert shown(c.width_slider) and shown(c.ensemble_slider) and not shown(c.activation) and shown(c.seed)
    w.show_view("training")           # its ensemble is the training box's "Ensemble M"
    assert not shown(c.ensemble_slider) and shown(w.views["training"].m_spin)
    w.show_view("outputs")
    assert shown(c.width_slider) and shown(c.ensemble_slider) and c.x2.isEnabled()
    assert shown(c.prior_dof) and not c.prior_dof.isEnabled()   # its own rule: only for student-t
    w.update_state(prior="student-t")
    assert c.prior_dof.isEnabled()


def test_self_test_machine_info_without_getloadavg(monkeypatch):
    """Windows has no os.getloadavg: the frozen Windows self-test must still report the machine."""
    import os

    from app.selftest import machine_info
    monkeypatch.delattr(os, "getloadavg", raising=False)
    info = machine_info()
    assert info == {"cpus": os.cpu_count(), "load_average_1min": None}


def test_app_defaults_come_from_the_engine_specs():
    """One source for every default: AppState's network and sampling fields are the specs' fields, with the
    values of the start specs (which differ from the engine's only where state.py says why)."""
    from dataclasses import fields

    from nnqft_engine import NetworkSpec, SampleSettings

    from app.state import NETWORK_FIELDS, SAMPLING_FIELDS, START_NETWORK, START_SAMPLING
    s = AppState()
    assert NETWORK_FIELDS == {f.name for f in fields(NetworkSpec)} - {"input_dim"}
    assert s.network_spec() == START_NETWORK.replace(input_dim=1)
    for name in SAMPLING_FIELDS:
        assert getattr(s, name) == getattr(START_SAMPLING, name)
    changed = {f.name for f in fields(NetworkSpec) if getattr(START_NETWORK, f.name) != getattr(NetworkSpec(), f.name)}
    assert changed == {"width", "sigma_w"}
    assert SampleSettings().ensemble != START_SAMPLING.ensemble


def test_help_lists_the_preset_names(capsys):
    """`nnqft --help` names every preset a speaker can pass to --preset."""
    from pathlib import Path

    from app.__main__ import _parse
    with pytest.raises(SystemExit):
        _parse(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    names = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "resources" / "presets").glob("*.json"))
    assert names and all(n in out for n in names)


def test_outputs_show_a_warning_not_a_confident_error_for_heavy_tails(make_window):
    """gauss-net at N = 2: the kurtosis estimator's error needs E[f⁸], which the sample does not resolve
    (sampling/honesty.py): the Outputs view shows ⚠ and a one-line warning naming the estimates (the sentences
    in the tooltip: wrapped in full they squeezed the plots to nothing at 720p), not ± err; erf at N = 4 shows ±."""
    w = make_window()
    w.update_state(activation="gauss-net", width=2, ensemble=4000)
    v = w.views["outputs"]
    r = v.last_result
    assert r.kurt_unreliable and r.warnings
    assert "⚠" in v.numbers.text() and "kurtosis" in v.numbers.text().split("heavy tails")[1]
    assert all(w_.split(" at ")[0] in v.numbers.text() for w_ in r.warnings)
    assert " ".join(v.numbers.toolTip().split()) == " ".join(" ".join(r.warnings).split())
    w.update_state(activation="erf", width=4)
    r = v.last_result
    assert not r.kurt_unreliable and "± " in v.numbers.text() and not v.numbers.toolTip()
