"""One state class per page, all children of :class:`~mcp_orch_app.ui.states.auth.AuthState`."""
