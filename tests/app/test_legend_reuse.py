"""Legends keep one entry per curve (views/base.py sync_legends): a renamed curve is relabelled in place and a
curve that stops and restarts being drawn gets its old entry back — restyled if the theme changed meanwhile —
while each legend still lists exactly the named curves that are drawn, in plot order."""
from __future__ import annotations

import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")
from app import plotting  # noqa: E402
from app.state import AppState  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")


def _entries(plot):
    return {id(sample.item): (sample, label) for sample, label in plot.legend.items}


def _check_invariant(plot):
    want = [(item, item.name()) for item in plot.listDataItems() if item.name() and plotting.drawn(item)]
    assert [(s.item, lab.text) for s, lab in plot.legend.items] == want
    for sample, label in plot.legend.items:
        assert sample.isVisible() and label.isVisible()


def test_legend_entries_are_reused_relabelled_and_restyled(open_window):
    w = open_window(AppState(ensemble=500, width=8))
    v = w.views["outputs"]
    exact = v.exact_curve
    first = _entries(v.hist)
    assert exact.name() == "exact (N = 8)" and id(exact) in first
    _check_invariant(v.hist)

    w.update_state(width=16)                       # renamed: the same label item, new text
    now = _entries(v.hist)
    assert now[id(exact)][1] is first[id(exact)][1] and now[id(exact)][1].text == "exact (N = 16)"
    _check_invariant(v.hist)

    w.update_state(depth=2)                        # no exact density deeper: its entry leaves the legend
    assert id(exact) not in _entries(v.hist)
    _check_invariant(v.hist)
    w.update_state(theme="light" if w.state.theme == "dark" else "dark")
    w.update_state(depth=1)                        # back, in the new theme's colour
    back = _entries(v.hist)
    label = back[id(exact)][1]
    assert label is first[id(exact)][1]
    assert label.opts["color"] == v.hist.legend.opts["labelTextColor"]
    assert label.opts["size"] == v.hist.legend.opts["labelTextSize"]
    _check_invariant(v.hist)
    for plot in v._plots:
        if plot.legend is not None:
            _check_invariant(plot)
