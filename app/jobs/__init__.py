"""The views' computations, free of Qt: each module turns an `AppState` into an iterator of typed, frozen
results (numpy arrays and numbers only). The worker thread runs them; views only draw what they yield.

Every result carries a `progress` record (jobs.progress.Progress), which is all the status bar reads. Each
module's `run(state)` prepares its inputs at once (a bad setting surfaces in the caller's thread) and returns
the generator of results; each yield is a progress point and a place where a superseded request stops.
"""
from . import correlators, depth, field, kernels, outputs, progress, training  # noqa: F401
