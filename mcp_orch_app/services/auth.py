"""Accounts and login sessions.

A login session is a random token whose SHA-256 is stored with an expiry; the web UI and REST
bearer tokens share the same sessions, so logging out anywhere revokes the token everywhere.

Logins are throttled per account and per client address (services/login_throttle.py): a
throttled attempt is refused before its password is hashed. :func:`login` runs its own units of
work, because a failed attempt must be counted even though the attempt itself is refused.

Passwords (sign-up, own change, an administrator's reset): at least ``password_min_length``
(10) characters, at most :data:`MAX_PASSWORD_LENGTH`, not one of the most common passwords
(security/common_passwords.txt), not one character repeated, not the account's own email.

Sign-up for an email that already has an account answers 409 ("already exists"), on purpose:
sign-up is how the first user becomes the administrator and how a team's members join on an
instance where it is open, and a person who mistypes or forgot they have an account must be
told so to act. That tells an anonymous caller whether an email has an account; an
administrator who does not want that closes sign-up (then every sign-up is refused with 403,
whatever the email) and creates accounts from the admin page. Login itself does not tell:
unknown email and wrong password get the same 401, take the same time (the password is hashed
against a timing-equalising hash), and count against the throttle the same way.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from mcp_orch_app.config import get_settings
from mcp_orch_app.db import in_transaction
from mcp_orch_app.models import LoginSession, SystemSettings, User
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.passwords import (
    TIMING_EQUALISER_HASH,
    hash_password,
    is_common_password,
    verify_password,
)
from mcp_orch_app.security.tokens import hash_token, new_session_token
from mcp_orch_app.services import activity, login_throttle
from mcp_orch_app.services.access import parse_uuid, require_admin
from mcp_orch_app.services.access_events import user_access_changed
from mcp_orch_app.services.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import (
    AdminUserCreateIn,
    AdminUserUpdateIn,
    LoginOut,
    LoginSessionOut,
    PasswordResetOut,
    SystemSettingsOut,
    UserOut,
)

# A session's last-seen time is written at most this often, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
MAX_PASSWORD_LENGTH = 1024


def normalise_email(raw: str) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"That is not a valid email address: {exc}") from exc


def check_password_strength(password: str, email: str | None = None) -> None:
    minimum = get_settings().password_min_length
    if len(password or "") < minimum:
        raise InvalidInput(f"The password must be at least {minimum} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if is_common_password(password) or len(set(password)) == 1:
        raise InvalidInput(
            "This password is one of the most common passwords and easy to guess; "
            "choose another one (a few unrelated words work well)."
        )
    if email and password.strip().lower() in (email.lower(), email.split("@")[0].lower()):
        raise InvalidInput("The password must not be your email address; choose another one.")


def _actor_for(user: User, login_session_id: uuid.UUID | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        login_session_id=login_session_id,
    )


def actor_for_user(user: User) -> Actor:
    """The actor a stored user acts as outside a login (a check run on their behalf)."""
    return _actor_for(user)


def system_settings(db: Session) -> SystemSettings:
    row = db.get(SystemSettings, 1)
    if row is None:
        row = SystemSettings(id=1)
        db.add(row)
        db.flush()
    return row


def signup_open(db: Session) -> bool:
    row = db.get(SystemSettings, 1)
    return True if row is None else row.signup_open


def _create_user(db: Session, email: str, password: str, name: str, is_admin: bool) -> User:
    email = normalise_email(email)
    check_password_strength(password, email)
    if db.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("An account with this email already exists.")
    user = User(
        email=email,
        name=(name or "").strip()[:200] or email.split("@")[0],
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.add(user)
    db.flush()
    return user


def signup(db: Session, email: str, password: str, name: str = "") -> UserOut:
    """Open sign-up. The very first account becomes the administrator."""
    has_users = db.exec(select(func.count()).select_from(User)).one() > 0
    if has_users and not signup_open(db):
        raise PermissionDenied("Sign-up is closed on this instance; ask an administrator.")
    user = _create_user(db, email, password, name, is_admin=not has_users)
    return UserOut.model_validate(user)


def login(
    email: str, password: str, *, ip: str | None = None, user_agent: str | None = None
) -> LoginOut:
    """Log in with email and password; throttled per account and per client address ``ip``.

    Runs its own units of work (a failure is recorded in one that commits). Refusals:
    TooManyAttempts while a key is locked (before any hashing), NotAuthenticated otherwise.
    """
    try:
        account = normalise_email(email)
    except InvalidInput:
        account = ""
    keys = login_throttle.keys_for(account or email, ip)
    in_transaction(login_throttle.check, keys)
    try:
        return in_transaction(
            _open_login_session, account, password, keys[0], ip=ip, user_agent=user_agent
        )
    except NotAuthenticated:
        in_transaction(login_throttle.record_failure, keys)
        raise


def _open_login_session(
    db: Session,
    email: str,
    password: str,
    account_key: login_throttle.ThrottleKey,
    *,
    ip: str | None,
    user_agent: str | None,
) -> LoginOut:
    user = db.exec(select(User).where(User.email == email)).first() if email else None
    if user is None:
        verify_password(password or "", TIMING_EQUALISER_HASH)
        raise NotAuthenticated("Incorrect email or password.")
    if not verify_password(password or "", user.password_hash):
        raise NotAuthenticated("Incorrect email or password.")
    if not user.is_active:
        raise NotAuthenticated("This account is deactivated; ask an administrator.")
    login_throttle.clear(db, account_key)
    token = new_session_token()
    now = utcnow()
    session = LoginSession(
        user_id=user.id,
        token_hash=hash_token(token),
        expires_at=now + timedelta(hours=get_settings().login_session_hours),
        last_seen_at=now,
        ip=(ip or None) and ip[:64],
        user_agent=(user_agent or None) and user_agent[:512],
    )
    user.last_login_at = now
    db.add(session)
    db.add(user)
    db.flush()
    return LoginOut(
        access_token=token, expires_at=session.expires_at, user=UserOut.model_validate(user)
    )


def authenticate(db: Session, token: str | None) -> Actor:
    """The actor behind a login token; anything but a live session's token is refused."""
    if not token:
        raise NotAuthenticated("Not logged in.")
    row = db.exec(
        select(LoginSession, User)
        .join(User, col(User.id) == LoginSession.user_id)
        .where(LoginSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise NotAuthenticated("Your session is not valid; log in again.")
    session, user = row
    now = utcnow()
    if session.revoked_at is not None or session.expires_at <= now:
        raise NotAuthenticated("Your session has ended; log in again.")
    if not user.is_active:
        raise NotAuthenticated("This account is deactivated.")
    if session.last_seen_at is None or now - session.last_seen_at > LAST_SEEN_RESOLUTION:
        db.execute(
            update(LoginSession).where(col(LoginSession.id) == session.id).values(last_seen_at=now)
        )
    return _actor_for(user, session.id)


def logout(db: Session, actor: Actor) -> None:
    if actor.login_session_id is None:
        return
    db.execute(
        update(LoginSession)
        .where(
            col(LoginSession.id) == actor.login_session_id, col(LoginSession.revoked_at).is_(None)
        )
        .values(revoked_at=utcnow())
    )


def logout_everywhere(db: Session, actor: Actor) -> int:
    result = db.execute(
        update(LoginSession)
        .where(col(LoginSession.user_id) == actor.user_id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def get_me(db: Session, actor: Actor) -> UserOut:
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotAuthenticated("Your account no longer exists.")
    return UserOut.model_validate(user)


def update_profile(db: Session, actor: Actor, name: str) -> UserOut:
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotAuthenticated("Your account no longer exists.")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("The name must not be empty.")
    user.name = name[:200]
    db.add(user)
    db.flush()
    return UserOut.model_validate(user)


def change_password(db: Session, actor: Actor, current_password: str, new_password: str) -> None:
    """Changes the password and ends every other login session of the user."""
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotAuthenticated("Your account no longer exists.")
    if not verify_password(current_password or "", user.password_hash):
        raise InvalidInput("The current password is not correct.")
    check_password_strength(new_password, user.email)
    user.password_hash = hash_password(new_password)
    db.add(user)
    query = update(LoginSession).where(
        col(LoginSession.user_id) == user.id, col(LoginSession.revoked_at).is_(None)
    )
    if actor.login_session_id is not None:
        query = query.where(col(LoginSession.id) != actor.login_session_id)
    db.execute(query.values(revoked_at=utcnow()))


def list_my_sessions(db: Session, actor: Actor) -> list[LoginSessionOut]:
    rows = db.exec(
        select(LoginSession)
        .where(
            LoginSession.user_id == actor.user_id,
            col(LoginSession.revoked_at).is_(None),
            col(LoginSession.expires_at) > utcnow(),
        )
        .order_by(col(LoginSession.created_at).desc())
    ).all()
    return [
        LoginSessionOut.model_validate(row).model_copy(
            update={"current": row.id == actor.login_session_id}
        )
        for row in rows
    ]


# --- administration -------------------------------------------------------------------------


def get_system_settings(db: Session, actor: Actor) -> SystemSettingsOut:
    require_admin(actor)
    return SystemSettingsOut(signup_open=signup_open(db))


def set_signup_open(db: Session, actor: Actor, is_open: bool) -> SystemSettingsOut:
    require_admin(actor)
    row = system_settings(db)
    row.signup_open = is_open
    row.updated_at = utcnow()
    row.updated_by = actor.user_id
    db.add(row)
    activity.record(
        db,
        actor,
        "settings.signup_opened" if is_open else "settings.signup_closed",
        f"{actor.display_name} {'opened' if is_open else 'closed'} sign-up",
    )
    db.flush()
    return SystemSettingsOut(signup_open=row.signup_open)


def list_users(
    db: Session, actor: Actor, *, q: str = "", limit: int = 100, offset: int = 0
) -> list[UserOut]:
    require_admin(actor)
    query = select(User)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(col(User.email).like(pattern) | func.lower(User.name).like(pattern))
    rows = db.exec(
        query.order_by(col(User.created_at)).offset(max(0, offset)).limit(min(limit, 500))
    )
    return [UserOut.model_validate(row) for row in rows.all()]


def admin_create_user(db: Session, actor: Actor, data: AdminUserCreateIn) -> UserOut:
    require_admin(actor)
    user = _create_user(db, data.email, data.password, data.name, is_admin=data.is_admin)
    activity.record(
        db,
        actor,
        "user.created",
        f"{actor.display_name} created the account {user.email}",
        target_type="user",
        target_id=user.id,
    )
    return UserOut.model_validate(user)


def admin_update_user(
    db: Session, actor: Actor, user_id: str | uuid.UUID, data: AdminUserUpdateIn
) -> UserOut:
    require_admin(actor)
    user = db.get(User, parse_uuid(user_id, "user"))
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    demoting_self = user.id == actor.user_id and (data.is_admin is False or data.is_active is False)
    if demoting_self:
        raise InvalidInput(
            "You cannot remove your own administrator rights or deactivate yourself."
        )
    if data.is_admin is not None:
        user.is_admin = data.is_admin
    if data.is_active is not None:
        user.is_active = data.is_active
    if data.password is not None:
        check_password_strength(data.password, user.email)
        user.password_hash = hash_password(data.password)
    if data.is_active is False or data.password is not None:
        db.execute(
            update(LoginSession)
            .where(col(LoginSession.user_id) == user.id, col(LoginSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
    db.add(user)
    if data.is_active is not None or data.is_admin is not None:
        user_access_changed(db, user.id)
    changed = [k for k, v in data.model_dump(exclude_none=True).items() if k != "password"]
    if data.password is not None:
        changed.append("password reset")
    activity.record(
        db,
        actor,
        "user.updated",
        f"{actor.display_name} changed {user.email}: {', '.join(changed) or 'nothing'}",
        target_type="user",
        target_id=user.id,
    )
    db.flush()
    return UserOut.model_validate(user)


def admin_reset_password(
    db: Session, actor: Actor, user_id: str | uuid.UUID, password: str | None = None
) -> PasswordResetOut:
    """Sets another user's password and logs them out everywhere.

    Without ``password`` a temporary one is generated; it is returned this once, for the
    administrator to hand over, and stored only as a hash.
    """
    require_admin(actor)
    if parse_uuid(user_id, "user") == actor.user_id:
        raise InvalidInput("Change your own password on your profile page.")
    generated = not (password or "").strip()
    new_password = secrets.token_urlsafe(12) if generated else str(password)
    user = admin_update_user(db, actor, user_id, AdminUserUpdateIn(password=new_password))
    return PasswordResetOut(user=user, password=new_password, generated=generated)
