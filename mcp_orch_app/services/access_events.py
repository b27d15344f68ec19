"""Telling the MCP gateway that who may reach what has changed.

The gateway caches authorization answers for a few seconds so that MCP calls do not each cost
a database round trip. A service that revokes a key, disables, edits or deletes a server,
changes a project's anonymous access or a tool preference, or changes a membership (an OAuth
grant acts with its user's current role) calls :func:`access_changed`; the
listeners (the gateway of this process) hear about it right after the transaction commits, so
they never re-read the old state. Changes made by another process reach the gateway through its
short cache lifetime instead.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy import event
from sqlmodel import Session, col, select

logger = logging.getLogger(__name__)

AccessListener = Callable[[uuid.UUID], None]
"""Receives the id of the project whose access changed; must be quick and must not raise."""

_listeners: list[AccessListener] = []


def add_access_listener(listener: AccessListener) -> Callable[[], None]:
    """Listen for access changes; returns a function that stops listening."""
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return remove


def access_changed(db: Session, project_id: uuid.UUID) -> None:
    """Announce, once `db` commits, that the project's MCP access changed."""

    def announce(_session: Session) -> None:
        for listener in tuple(_listeners):
            try:
                listener(project_id)
            except Exception:
                logger.exception("access listener failed for project %s", project_id)

    event.listen(db, "after_commit", announce, once=True)


def user_access_changed(db: Session, user_id: uuid.UUID) -> None:
    """Announce a change of a user's standing (membership through a team, deactivation,
    admin rights) for every project where an OAuth grant acts for them."""
    from mcp_orch_app.models.oauth import OAuthGrant

    projects = db.exec(
        select(OAuthGrant.project_id)
        .where(OAuthGrant.user_id == user_id, col(OAuthGrant.revoked_at).is_(None))
        .distinct()
    )
    for project_id in list(projects):
        access_changed(db, project_id)
