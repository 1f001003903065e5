"""NN-QFT Explorer's desktop app (Qt). Import torch before this package's Qt modules (see __main__)."""

__version__ = "0.1.0"
APP_NAME = "NN-QFT Explorer"
