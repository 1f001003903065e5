"""How far a job has come: the one record every result carries for the status bar."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Networks (or samples) done of those requested; a training step and its time t = Σ η; or a label for a
    result that is not a count (exact theory)."""

    done: int | None = None
    requested: int | None = None
    step: int | None = None
    t: float | None = None
    label: str = ""


EXACT = Progress(label="theory: exact")
