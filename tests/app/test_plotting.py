"""Drawing helpers that decide when axes are redrawn, and the fast point cloud."""
import numpy as np
from pytest import approx

from app import plotting


def test_steady_range_keeps_the_range_while_the_data_fit_and_fill_it():
    r = plotting.steady_range(None, 0.0, 10.0, margin=0.1)
    assert r == approx((-1.0, 11.0))
    assert plotting.steady_range(r, 0.5, 9.0, margin=0.1) is None          # inside, fills 71 %: keep
    assert plotting.steady_range(r, 0.0, 12.0, margin=0.1) == approx((-1.2, 13.2))  # data left the range
    assert plotting.steady_range(r, 4.0, 8.0, margin=0.1) == approx((3.6, 8.4))     # fills 33 %: shrink
    assert plotting.steady_range(r, 1.0, 1.0) is None                       # empty or degenerate data
    assert plotting.steady_range(r, np.nan, 1.0) is None


def test_point_cloud_holds_only_finite_points_and_reports_their_bounds(qtbot):
    cloud = plotting.PointCloud(size_px=4)
    cloud.setData([0.0, 1.0, np.nan, -2.0], [1.0, 3.0, 0.0, np.inf], "#ff0000")
    np.testing.assert_array_equal(cloud.xData, [0.0, 1.0])
    assert cloud.dataBounds(0) == (0.0, 1.0) and cloud.dataBounds(1) == (1.0, 3.0)
    cloud.setData([], [], "#ff0000")
    assert cloud.dataBounds(0) == (None, None)


def test_log_ticks_label_one_two_five_per_decade():
    major, minor = plotting.log_ticks(0.015, 0.6)
    assert [label for _, label in major] == ["0.02", "0.05", "0.1", "0.2", "0.5"]
    assert all(label == "" for _, label in minor) and len(minor) == 8   # 0.03, 0.04, 0.06 … 0.09, 0.3, 0.4
    assert np.allclose([p for p, _ in major], np.log10([0.02, 0.05, 0.1, 0.2, 0.5]))
    assert [label for _, label in plotting.log_ticks(3.1, 4.9)[0]] == ["4"]
    assert plotting.log_ticks(0.0, 1.0) == [[], []]


def test_steady_range_gives_growing_data_head_room():
    r = (0.0, 10.0)
    assert plotting.steady_range(r, 0.0, 11.0, margin=0.0, grow=0.5) == approx((0.0, 16.5))
    assert plotting.steady_range((0.0, 16.5), 0.0, 12.0, margin=0.0, grow=0.5) is None   # no redraw till 16.5
    assert plotting.steady_range(r, -1.0, 9.0, margin=0.0, grow=0.5) == approx((-6.0, 9.0))
    # a jump to another scale is no growth: no head-room
    assert plotting.steady_range((0.0, 1.0), -0.0035, 0.0018, margin=0.0, grow=0.5) == approx((-0.0035, 0.0018))
    assert plotting.steady_range((0.0, 1.0), -2.0, 2.0, margin=0.0, grow=0.5) == approx((-2.0, 2.0))


def test_legend_columns_size_each_column_by_its_own_entries():
    """Entries fill row by row; a column is as wide as its widest entry, not the widest entry overall."""
    legend_columns = plotting.legend_columns
    widths = [130.0, 170.0, 230.0]
    assert legend_columns(widths, 530.0) == 3          # all in one row: 130 + 170 + 230
    assert legend_columns(widths, 529.0) == 2          # 230 under 130: columns 230 + 170 = 400
    assert legend_columns(widths, 400.0) == 2
    assert legend_columns(widths, 399.0) == 1
    assert legend_columns([500.0], 100.0) == 1         # one entry too wide still gets its row
    assert legend_columns([50.0] * 4, 150.0) == 3      # 4 entries in 3 columns: 50 + 50 + 50
