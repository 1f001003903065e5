"""NN-QFT Explorer's desktop app (Qt). Import torch before this package's Qt modules (see __main__)."""
from ._refcount_guard import install as _install_refcount_guard

_install_refcount_guard()   # PySide6 6.12 on Python 3.11 leaks decrefs of None/True (see _refcount_guard)

__version__ = "0.1.0"
APP_NAME = "NN-QFT Explorer"
