"""Derive the platform icons from the app's PNG icon: a multi-size .ico (Windows), an .icns (macOS) and the
hicolor PNG sizes (Linux menus).

Runs in the build environment, whose only image library is Qt (QImage needs no QApplication). ICO and ICNS both
hold PNG-compressed images here, which every Windows since Vista and every macOS since 10.7 reads.

    python packaging/make_icons.py SOURCE.png OUT_DIR BASENAME
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
              (b"ic10", 1024))
HICOLOR_SIZES = (16, 32, 48, 64, 128, 256, 512)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """ICONDIR + one ICONDIRENTRY per size (width/height byte 0 means 256) + the PNG payloads."""
    sizes = sorted(pngs)
    offset = 6 + 16 * len(sizes)
    head, body = [struct.pack("<HHH", 0, 1, len(sizes))], []
    for s in sizes:
        data = pngs[s]
        head.append(struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset))
        body.append(data)
        offset += len(data)
    return b"".join(head + body)


def icns_bytes(pngs: dict[bytes, bytes]) -> bytes:
    """'icns' + total length, then (type, length incl. its 8-byte header, PNG data) per element, big-endian."""
    elements = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in pngs.items())
    return b"icns" + struct.pack(">I", 8 + len(elements)) + elements


def main(argv: list[str]) -> int:
    from PySide6 import QtCore, QtGui

    source, out_dir, base = Path(argv[0]), Path(argv[1]), argv[2]
    image = QtGui.QImage(str(source))
    if image.isNull():
        print(f"make_icons: cannot read {source} as an image", file=sys.stderr)
        return 1

    def png(size: int) -> bytes:
        scaled = image.scaled(size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                              QtCore.Qt.TransformationMode.SmoothTransformation)
        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        scaled.save(buffer, "PNG")
        return bytes(buffer.data())

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{base}.ico").write_bytes(ico_bytes({s: png(s) for s in ICO_SIZES}))
    (out_dir / f"{base}.icns").write_bytes(icns_bytes({kind: png(s) for kind, s in ICNS_TYPES}))
    for s in HICOLOR_SIZES:
        target = out_dir / "hicolor" / f"{s}x{s}" / "apps" / f"{base}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png(s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
