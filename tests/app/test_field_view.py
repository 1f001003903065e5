"""The Field theory view in the real main window, jobs run inline: draws d = 1 curves and a d = 2 image, its
sliders edit view_settings, the plotted numbers are the engine's, and the preset loads."""
from __future__ import annotations

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")

from app.session import load_presets  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine.field import FieldSpec, propagator, tree_g4c_pair  # noqa: E402

SMALL = {"dim": 1, "mass": 1.0, "cutoff": 3.0, "box": 3.0, "lam": 0.5, "alpha": 0.0, "sampler": "reweight"}


@pytest.fixture
def window(open_window):
    return open_window(AppState(ensemble=512, width=20, view_settings={"field": dict(SMALL)}))


def test_field_view_draws_engine_numbers_and_follows_its_sliders(window, tmp_path):
    window.show_view("field")
    view = window.views["field"]
    assert view.title == "Field theory" and view.last_result is not None
    r = view.last_result
    spec = FieldSpec(width=20, **{k: SMALL[k] for k in ("dim", "mass", "cutoff", "box", "lam", "alpha")})
    from app.jobs.field import measurement_points
    pts = measurement_points(spec)
    np.testing.assert_allclose(r.propagator, propagator(1, 1.0, 3.0, r.r), rtol=1e-12)
    np.testing.assert_allclose(r.tree, tree_g4c_pair(spec, pts)[0], rtol=1e-12)
    assert r.progress.done == 512 and np.asarray(r.configs).shape == (4, 300)
    assert view.finite_check()["ok"]
    assert np.isfinite(r.lam_hat)
    # A slider edits the view's settings and recomputes: d = 2 shows an image.
    view._sliders["dim"].setValue(1)
    assert window.state.view_settings["field"]["dim"] == 2
    assert view.last_result.dim == 2 and view.img.image is not None
    assert view.export_data()["config_image"].shape == (64, 64)
    # One ensemble control: the dock's (the view has no "samples M" of its own).
    window.controls.ensemble_slider.setValue(24)   # 10^2.4 ≈ 250
    assert window.state.ensemble == 250 and view.last_result.progress.done == 250
    assert not hasattr(view, "ensemble") and "width" not in view._sliders
    view._sliders["lam"].setValue(0)
    assert window.state.view_settings["field"]["lam"] == 0.0
    assert np.all(view.last_result.tree == 0)
    view.grab().save(str(tmp_path / "field.png"))
    assert (tmp_path / "field.png").stat().st_size > 1000


def test_field_preset_loads_into_the_view(window):
    preset = next(p for p in load_presets() if "phi4" in p.name)
    st = preset.state(window.state)
    assert st.view == "field" and st.view_settings["field"]["lam"] > 0 and st.width == 200
    FieldSpec(width=st.width, **{k: st.view_settings["field"][k] for k in ("dim", "mass", "cutoff", "box", "lam",
                                                                          "alpha")})


def test_old_field_sessions_keep_their_width_and_ensemble(window, tmp_path):
    """Sessions written when the Field view had its own width and ensemble controls still load: the values move
    to the shared settings when the session shows the Field view, and are dropped from view_settings."""
    import json
    old = {"kind": "nnqft-explorer-session", "format": 1,
           "state": {"view": "field", "width": 32, "ensemble": 20000,
                     "view_settings": {"field": {**SMALL, "width": 40, "ensemble": 300}}}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert window.open_session(path)
    assert window.state.width == 40 and window.state.ensemble == 300
    assert "width" not in window.state.view_settings["field"]
    assert window.views["field"].last_result.progress.done == 300
