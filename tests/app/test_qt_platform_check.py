"""The launcher's xcb check: DT_NEEDED of PySide6's libqxcb.so resolved like the loader, missing ones named with
apt/dnf/pacman commands. No Qt is loaded: the lookup is pointed at a made-up ld cache and library path."""
import sys

import pytest

from app import qt_platform_check as q

PLUGIN = q.xcb_plugin()
needs_plugin = pytest.mark.skipif(PLUGIN is None or not sys.platform.startswith("linux"),
                                  reason="PySide6's Linux xcb plugin is not installed here")


@needs_plugin
def test_plugin_needs_the_xcb_utility_libraries():
    needed, runpath = q.elf_dynamic(PLUGIN)
    assert "libxcb-icccm.so.4" in needed and "libxcb-cursor.so.0" in needed
    assert any("Qt" in n for n in needed)


@needs_plugin
def test_hidden_icccm_is_named_with_install_commands(tmp_path):
    # A library directory with every needed soname present (empty files) except libxcb-icccm.so.4.
    libdir = tmp_path / "lib"
    libdir.mkdir()
    needed, _ = q.elf_dynamic(PLUGIN)
    cache = {}
    for soname in needed:
        if soname != "libxcb-icccm.so.4" and "Qt" not in soname:
            (libdir / soname).write_bytes(b"")
            cache[soname] = str(libdir / soname)
    missing = q.missing_libraries(PLUGIN, ld_library_path=str(libdir), cache=cache, default_dirs=())
    assert "libxcb-icccm.so.4" in missing
    msg = q.message(missing)
    assert "libxcb-icccm4" in msg and "sudo apt install" in msg and "sudo dnf install" in msg
    assert "sudo pacman -S" in msg and "xcb-util-wm" in msg
    # With it present, nothing the plugin needs directly is reported.
    (libdir / "libxcb-icccm.so.4").write_bytes(b"")
    assert "libxcb-icccm.so.4" not in q.missing_libraries(PLUGIN, ld_library_path=str(libdir), cache=cache,
                                                           default_dirs=())


def test_message_for_unknown_library():
    msg = q.message(["libxcb-cursor.so.0", "libweird.so.9"])
    assert "libxcb-cursor0" in msg and "xcb-util-cursor" in msg and "libweird.so.9" in msg
    assert len(msg.splitlines()) >= 5


def test_check_is_silent_offscreen_or_without_display():
    assert q.check({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}) is None
    assert q.check({}) is None


def test_deb_control_comes_from_the_table():
    depends, recommends = q.deb_packages()
    assert "libxkbcommon0" in depends and "libxcb-icccm4" in recommends and "libxcb-cursor0" in recommends
    assert not set(depends) & set(recommends)
    template = open("resources/installer/deb-control.in").read()
    assert "Depends: $depends" in template and "Recommends: $recommends" in template
