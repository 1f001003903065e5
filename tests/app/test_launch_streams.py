"""The launcher's streams: a console-less (windowed) Windows/macOS build has sys.stdout = sys.stderr = None, and a
redirected Windows console writes cp1252; neither may turn a message into a crash."""
import io
import sys

from app.__main__ import _ensure_streams


def test_windowed_build_without_streams_gets_harmless_ones(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    _ensure_streams()
    print("σ_w and φ⁴ go nowhere, quietly")
    print("nnqft: message", file=sys.stderr)
    assert sys.stdout.encoding == sys.stderr.encoding == "utf-8"


def test_legacy_code_page_console_writes_utf8(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(raw, encoding="cp1252"))
    _ensure_streams()
    print("nnqft: no preset named 'φ⁴'", file=sys.stderr)
    sys.stderr.flush()
    assert raw.getvalue().decode("utf-8") == "nnqft: no preset named 'φ⁴'\n"
