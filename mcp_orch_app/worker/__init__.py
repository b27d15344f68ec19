"""The background worker: scheduled health checks of every enabled server, log retention, and
the leader election that lets one backend process run them (see scheduler.py)."""
