"""The self-test's checks of what a viewer sees (used by selftest.py and the tests):

- `contrast_report`: the WCAG contrast ratio of every text item (titles, axis and tick labels, legends, notes,
  colour bars, marker labels, the views' rich-text labels and the banner) against its background;
- `overlap_report`: legends and notes that cover data (a plot's data area, any plot's);
- `marker_label_problems`: marker labels cut off at a plot's edge or drawn over its title;
- `plot_sizes`: each plot's data area, and those too small to read from a projector;
- `state_report`: markers, banner and data ranges against the state (after a preset, a session, a switch);
- `export_all`: every view exported (PNG, SVG, CSV, NPZ, settings JSON).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

MIN_CONTRAST = 4.5
_COLOR = re.compile(r"color:\s*(#[0-9a-fA-F]{6,8})")


def _lum(c: QtGui.QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(fg, bg) -> float:
    """WCAG 2 contrast ratio of two colours (anything pg.mkColor takes); fg's alpha blended over bg."""
    f, b = pg.mkColor(fg), pg.mkColor(bg)
    a = f.alphaF()
    if a < 1.0:
        f = QtGui.QColor.fromRgbF(a * f.redF() + (1 - a) * b.redF(), a * f.greenF() + (1 - a) * b.greenF(),
                                  a * f.blueF() + (1 - a) * b.blueF())
    hi, lo = sorted((_lum(f), _lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _html_colors(html: str, default) -> list:
    return [default] + _COLOR.findall(html or "")


def text_items(view) -> list[tuple[str, object]]:
    """(kind, colour) of every visible text in the view's plots and labels."""
    out: list[tuple[str, object]] = []
    for plot in view._plots:
        if plot.titleLabel.isVisible() and plot.titleLabel.text:
            out.append(("title", plot.titleLabel.opts.get("color")))
        for side in ("left", "bottom", "right", "top"):
            ax = plot.getAxis(side)
            if ax.isVisible() and ax.style.get("showValues", True):
                out.append(("tick", ax.textPen().color()))
                if ax.label.isVisible() and ax.labelText:
                    out.append(("axis", ax.label.defaultTextColor()))
        if plot.legend is not None and plot.legend.isVisible():
            for _, label in plot.legend.items:
                out += [("legend", c) for c in _html_colors(label.item.toHtml(), label.opts.get("color"))[1:]]
        for item in plot.items:
            if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None and item.label.isVisible():
                out.append(("marker_label", item.label.color))
    for note in view._notes:
        if note.isVisible() and note.text:
            out.append(("note", note.opts.get("color")))
    for bar in view.colorbars():
        if bar.isVisible():
            out.append(("colorbar", bar.axis.textPen().color()))
    return out


def label_items(widget: QtWidgets.QWidget) -> list[tuple[str, object, object]]:
    """(kind, colour, background) of the rich-text QLabels under `widget` (view numbers, the banner)."""
    out = []
    for lab in widget.findChildren(QtWidgets.QLabel):
        if not lab.isVisibleTo(widget) or not lab.text():
            continue
        # The application's palette for the label (its own palette may still await the theme's change event).
        pal = lab.palette() if lab.testAttribute(QtCore.Qt.WidgetAttribute.WA_SetPalette) \
            else QtWidgets.QApplication.palette(lab)
        bg = pal.color(lab.backgroundRole())
        default = pal.color(QtGui.QPalette.ColorGroup.Active, lab.foregroundRole())
        for c in _html_colors(lab.text(), default):
            out.append(("label", c, bg))
    return out


def contrast_report(window) -> dict:
    """{view: {kind: lowest ratio}, 'lowest': …, 'ok': …} for the current theme (views built on demand)."""
    report: dict = {}
    lowest = float("inf")
    for key, view in window.views.items():
        view.ensure_built()
        kinds: dict[str, float] = {}
        for kind, color in text_items(view):
            if color is None:
                continue
            kinds[kind] = min(kinds.get(kind, float("inf")), contrast(color, view.theme["plot_background"]))
        for kind, color, back in label_items(view):
            kinds[kind] = min(kinds.get(kind, float("inf")), contrast(color, back))
        report[key] = {k: round(v, 2) for k, v in sorted(kinds.items())}
        lowest = min([lowest, *kinds.values()])
    banner = [contrast(c, b) for _, c, b in label_items(window.banner.parentWidget())] or [float("inf")]
    report["banner"] = {"label": round(min(banner), 2)}
    lowest = min(lowest, min(banner))
    report["lowest"] = round(lowest, 2)
    report["ok"] = bool(lowest >= MIN_CONTRAST)
    return report


def overlap_report(view) -> list[str]:
    """Legends and notes of the view that cover a plot's data area (their own plot's or another's)."""
    areas = [(p.titleLabel.text, p.getViewBox().sceneBoundingRect()) for p in view._plots if p.isVisible()]
    bad = []
    covers = [("legend of " + p.titleLabel.text, p.legend) for p in view._plots
              if p.legend is not None and p.legend.isVisible() and p.legend.items]
    covers += [("note " + repr(n.text[:30]), n) for n in view._notes if n.isVisible() and n.text]
    for name, item in covers:
        rect = item.sceneBoundingRect()
        for title, area in areas:
            inter = rect.intersected(area)
            if inter.width() > 1 and inter.height() > 1:
                bad.append(f"{name} covers the data area of {title!r}")
    return bad


def marker_label_problems(view) -> list[str]:
    """Marker labels (an InfiniteLine's text) that reach outside their plot's data area: cut off, or over
    the title."""
    bad = []
    for plot in view._plots:
        if not plot.isVisible():
            continue
        area = plot.getViewBox().sceneBoundingRect().adjusted(-1, -1, 1, 1)
        for item in plot.items:
            label = getattr(item, "label", None) if isinstance(item, pg.InfiniteLine) else None
            if label is not None and item.isVisible() and label.isVisible() and \
                    not area.contains(label.sceneBoundingRect()):
                bad.append(f"{view.key}: marker label {label.textItem.toPlainText()!r} leaves the data area of "
                           f"{plot.titleLabel.text!r}")
    return bad


MIN_DATA_PX = 60   # below this an axis at the presentation font shows at most two or three tick labels


def plot_sizes(view) -> tuple[dict[str, list[int]], list[str]]:
    """Each visible plot's data area in pixels, and the plots whose data area is below MIN_DATA_PX (at 1280×720
    the Depth view's legends and notes once left two plots ~40 px of data)."""
    sizes, bad = {}, []
    for plot in view._plots:
        if not plot.isVisible():
            continue
        r = plot.getViewBox().sceneBoundingRect()
        sizes[plot.titleLabel.text] = [round(r.width()), round(r.height())]
        if min(r.width(), r.height()) < MIN_DATA_PX:
            bad.append(f"{view.key}: the data area of {plot.titleLabel.text!r} is {r.width():.0f}×{r.height():.0f} "
                       f"px (< {MIN_DATA_PX})")
    return sizes, bad


def clipped_canvases(view) -> list[str]:
    """Canvases whose plots need more room than the view gives them (long titles or legends widen a column):
    the rest is cut off at the edge of the window."""
    import pyqtgraph as pg
    out = []
    for canvas in view.findChildren(pg.GraphicsLayoutWidget):
        vp, ci = canvas.viewport().size(), canvas.ci.geometry()
        if canvas.isVisible() and (ci.width() > vp.width() + 1 or ci.height() > vp.height() + 1):
            out.append(f"{view.key}: the plots need {ci.width():.0f}×{ci.height():.0f} px but the view shows "
                       f"{vp.width()}×{vp.height()}: the rest is cut off")
    return out


def range_problems(view) -> list[str]:
    """Curves and images whose x extent the plot does not show whole (images: both axes)."""
    bad = []
    for plot in view._plots:
        (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
        tol_x = 0.01 * (x1 - x0)
        for item in plot.items:
            if isinstance(item, pg.ImageItem) and item.isVisible() and item.image is not None:
                r = item.mapRectToView(item.boundingRect())
                tol_y = 0.01 * (y1 - y0)
                if r.left() < x0 - tol_x or r.right() > x1 + tol_x or r.top() < y0 - tol_y or r.bottom() > y1 + tol_y:
                    bad.append(f"{plot.titleLabel.text}: image {r.left():.3g}…{r.right():.3g} × "
                               f"{r.top():.3g}…{r.bottom():.3g} shown in {x0:.3g}…{x1:.3g} × {y0:.3g}…{y1:.3g}")
            elif isinstance(item, pg.PlotDataItem) and item.isVisible():
                x, _ = item.getData()
                if x is None or not len(x):
                    continue
                x = np.asarray(x, dtype=float)
                x = x[np.isfinite(x)]
                if len(x) and (x.min() < x0 - tol_x or x.max() > x1 + tol_x):
                    bad.append(f"{plot.titleLabel.text}: data x {x.min():.3g}…{x.max():.3g} shown in "
                               f"{x0:.3g}…{x1:.3g}")
    return bad


def marker_problems(window) -> list[str]:
    out = window.views.get("outputs")
    if out is None or not out.x_lines:
        return []
    s = window.state
    return [f"marker {name} at {line.value():.4g}, state {value:.4g}" for name, line, value in
            zip(("x1", "x2"), out.x_lines, (s.x1, s.x2)) if abs(line.value() - value) > 1e-6]


def banner_problems(window, title_view: str) -> list[str]:
    """The banner shows the preset's title over its own view and the view's caption elsewhere."""
    key = window.current_view().key
    text = window.banner.text()
    s = window.state
    if key == title_view and s.title and s.title not in text:
        return [f"{key}: banner lacks the preset title {s.title!r}"]
    if key != title_view and s.title and s.title in text:
        return [f"{key}: banner shows the {title_view} preset's title"]
    return []


def export_all(window, out_dir: str | Path, wait) -> dict:
    """Every view exported to out_dir as <view>.png/.svg/.csv/.npz/.json once its request has finished (the
    width sweep included); {view: [file names]}."""
    from .export import export_view
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, view in window.views.items():
        window.show_view(key)
        wait(view, finished=True)
        files[key] = [p.name for p in export_view(view, out / key, window.state)]
    return files


def run_contract(window, wait_result, presentation: bool = False, size: tuple[int, int] | None = None,
                 export_dir: str | None = None) -> dict:
    """Every check above, on the live window. `wait_result(view)` waits until the view on screen has drawn a
    result of its newest request. Returns {'ok': …, 'presets': …, 'contrast': …, 'overlaps': …, 'fit': …,
    'exports': …}."""
    from .presentation import controls_fit
    rep: dict = {"presets": {}, "contrast": {}, "overlaps": {}, "ranges": {}}
    problems: list[str] = []
    if presentation:
        window.set_presentation(True, size=size)
    keys = list(window.views)
    for preset in window.presets:
        window.apply_preset(preset)
        view = window.current_view()
        wait_result(view)
        found = marker_problems(window) + banner_problems(window, preset.settings.get("view", "outputs")) + \
            range_problems(view)
        other = window.views[keys[(keys.index(view.key) + 1) % len(keys)]]
        window.show_view(other.key)        # a view switch: the banner is the view's own, markers stay right
        found += banner_problems(window, view.key) + marker_problems(window)
        if other.caption and other.caption not in window.banner.text():
            found.append(f"{other.key}: banner lacks the view's own caption")
        rep["presets"][preset.name] = found or "ok"
        problems += found
    fit: dict = {}
    for key, view in window.views.items():
        window.show_view(key)
        wait_result(view)
        for _ in range(2):
            window.grab()   # lays out and paints the canvas: legends, notes and ranges at their real size
        rep["overlaps"][key] = overlap_report(view) or "none"
        rep["ranges"][key] = range_problems(view) or "ok"
        rep.setdefault("clipped", {})[key] = clipped_canvases(view) or "none"
        rep.setdefault("marker_labels", {})[key] = marker_label_problems(view) or "inside"
        sizes, small = plot_sizes(view)
        rep.setdefault("plot_px", {})[key] = sizes
        problems += overlap_report(view) + range_problems(view) + clipped_canvases(view) + \
            marker_label_problems(view) + small
        if presentation:
            fit[key] = controls_fit(window)
            if not fit[key]["ok"]:
                problems.append(f"{key}: the controls need {fit[key]['needed']} of {fit[key]['available']}")
    if presentation:
        rep["fit"] = fit
    start_theme = window.state.theme
    for theme in (start_theme, "light" if start_theme == "dark" else "dark"):
        window.update_state(theme=theme)
        QtWidgets.QApplication.processEvents()   # palette changes reach the labels
        rep["contrast"][theme] = contrast_report(window)
        if not rep["contrast"][theme]["ok"]:
            problems.append(f"{theme}: lowest text contrast {rep['contrast'][theme]['lowest']} < {MIN_CONTRAST}")
    window.update_state(theme=start_theme)
    if export_dir:
        rep["exports"] = export_all(window, export_dir, wait_result)
    rep["problems"] = problems
    rep["ok"] = not problems
    return rep
