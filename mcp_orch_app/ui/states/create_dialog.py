"""What every "create" dialog of the pages holds: open or not, saving, and the refusal shown in
it (projects, teams, API keys, the admin's new user). A Reflex mixin: each page state that has
such a dialog inherits it next to its page base."""

from __future__ import annotations

import reflex as rx


class CreateDialogMixin(rx.State, mixin=True):
    create_open: bool = False
    creating: bool = False
    create_error: str = ""

    @rx.event
    def set_create_open(self, is_open: bool):
        """Open or close the dialog; what it said last time is forgotten either way."""
        self.create_open = is_open
        self.create_error = ""
