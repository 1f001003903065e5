"""Old settings mapped onto today's: sessions and presets written before the Field view shared the dock's
width and ensemble controls kept them in `view_settings["field"]` ("width", "ensemble"). Qt-free."""
from __future__ import annotations

import dataclasses

from .state import AppState

# view_settings[view][key] → the shared AppState field that replaced it
MOVED = {("field", "width"): "width", ("field", "ensemble"): "ensemble"}


def migrate_state(state: AppState) -> AppState:
    """The state with moved keys taken out of view_settings. A moved value becomes the shared setting when its
    view is the one the state shows (a Field-view session keeps its N and M); otherwise the shared value,
    which the other views used, wins."""
    vs = {k: dict(v) if isinstance(v, dict) else v for k, v in state.view_settings.items()}
    updates: dict = {}
    for (view, key), field_name in MOVED.items():
        own = vs.get(view)
        if isinstance(own, dict) and key in own:
            value = own.pop(key)
            if state.view == view:
                updates[field_name] = int(value)
    if not updates and vs == state.view_settings:
        return state
    new = dataclasses.replace(state, view_settings=vs, **updates)
    new.validate()
    return new
