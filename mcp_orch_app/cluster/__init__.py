"""Several backend processes (workers, replicas) of one installation working as one: the Redis
message bus between them (bus.py), built when ``REFLEX_REDIS_URL`` is set."""

from __future__ import annotations

from mcp_orch_app.cluster.bus import ClusterBus, namespace_for


def configured_bus() -> ClusterBus | None:
    """The bus of this process's installation, or None without ``REFLEX_REDIS_URL``."""
    from mcp_orch_app.config import get_settings
    from mcp_orch_app.security.secrets import key_fingerprint

    url = get_settings().redis_url
    if url is None:
        return None
    return ClusterBus(url, namespace=namespace_for(url, key_fingerprint()[0]))


__all__ = ["ClusterBus", "configured_bus", "namespace_for"]
