"""Kernels: the analytic NNGP K(x, x') and NTK Θ(x, x') as images over an input grid, and slices at x₁ (computed
by jobs.kernels)."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg

from .. import jobs, plotting
from ..jobs.kernels import KernelsResult
from ..state import NETWORK_FIELDS, AppState
from .base import ViewBase


class KernelsView(ViewBase):
    key = "kernels"
    title = "Kernels"
    # Independence breaking changes no infinite-width kernel.
    needs = (NETWORK_FIELDS - {"independence", "independence_strength"}) | {"x1", "x_min", "x_max"}
    caption = ("The infinite-width kernels: the NNGP K(x, x′) describes the ensemble at initialization, the "
               "NTK Θ(x, x′) its training.")

    def controls_needed(self, state: AppState) -> set[str]:
        # The kernels are N = ∞ objects: the width only scales Θ in the standard parameterization.
        return set(self.needs) - (set() if state.parameterization == "standard" else {"width"})

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self._data: dict[str, np.ndarray] = {}

    def build(self) -> Iterator[None]:
        self.canvas = self.add_canvas()
        self.k_plot = self.add_plot(self.canvas, 0, 0, "NNGP K(x, x′)", "x", "x′")
        yield
        self.t_plot = self.add_plot(self.canvas, 0, 1, "NTK Θ(x, x′)", "x", "x′")
        yield
        self.s_plot = self.add_plot(self.canvas, 1, 0, "Slices at x′ = x₁", "x", "kernel", colspan=2)
        yield
        self.k_img, self.t_img = pg.ImageItem(), pg.ImageItem()
        self.k_plot.addItem(self.k_img)
        self.t_plot.addItem(self.t_img)
        self.k_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False)
        self.k_bar.setImageItem(self.k_img, insert_in=self.k_plot)
        yield
        self.t_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False)
        self.t_bar.setImageItem(self.t_img, insert_in=self.t_plot)
        yield
        self.k_slice = self.s_plot.plot(name="NNGP K(x, x₁)")
        self.t_slice = self.s_plot.plot(name="NTK Θ(x, x₁)")
        self.note = self.add_note(self.s_plot)

    def make_job(self, state: AppState):
        results = jobs.kernels.run(state)
        return lambda: results

    def show_result(self, r: KernelsResult) -> None:
        t, lw = self.theme, self.line_width()
        g = r.grid
        for plot, img, bar, data in ((self.k_plot, self.k_img, self.k_bar, r.nngp),
                                     (self.t_plot, self.t_img, self.t_bar, r.ntk)):
            self.show_image(plot, img, bar, data, float(g[0]), float(g[-1]))
        self.k_slice.setData(g, r.k_slice, pen=plotting.pen(t["data"], lw))
        self.t_slice.setData(g, r.t_slice, pen=plotting.pen(t["theory"], lw))
        notes = [f"standard parameterization: Θ grows with N = {r.width}"] if r.parameterization == "standard" \
            else []
        if not (np.all(np.isfinite(r.nngp)) and np.all(np.isfinite(r.ntk))):
            notes.append(plotting.INFINITE_NNGP + " (infinite entries left blank)")
        self.note.setText("\n".join(notes))
        self._data = {"grid_x": g, "nngp": r.nngp, "ntk": r.ntk, "nngp_slice_at_x1": r.k_slice,
                      "ntk_slice_at_x1": r.t_slice}

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)
