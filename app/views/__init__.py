"""One module per view; every view follows the protocol in `base.py`."""
