"""The web UI: Reflex pages, one flat state class per page, and the shared sidebar layout.

States hold JSON-able copies of what the services return; every handler re-checks the
login token and lets the services decide what the user may see or change.
"""
