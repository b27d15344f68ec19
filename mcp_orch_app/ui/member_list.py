"""The member lists of projects and teams: the fields of the "add a member" forms and the rows
(role select for those who manage members, remove or leave with a confirmation)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import ROLES, form_field, person, role_badge, time_ago
from mcp_orch_app.ui.dialogs import confirm_dialog, notice_dialog
from mcp_orch_app.ui.states.auth import AuthState


def email_field(**props) -> rx.Component:
    """The address of the existing account to add."""
    return form_field(
        "Email",
        rx.input(
            name="email",
            type="email",
            placeholder="colleague@example.com",
            auto_focus=True,
            width="100%",
            **props,
        ),
    )


def role_field(hint: str) -> rx.Component:
    return form_field(
        "Role", rx.select(ROLES, name="role", default_value="developer", width="100%"), hint
    )


def _role(member, manages, busy, on_role_change) -> rx.Component:
    return rx.cond(
        manages,
        # The parts spelled out: the name has to be on the trigger (the button people reach).
        rx.select.root(
            rx.select.trigger(aria_label="Role of " + member.name),
            rx.select.content(*[rx.select.item(role, value=role) for role in ROLES]),
            value=member.role,
            on_change=on_role_change,
            size="1",
            disabled=busy,
        ),
        role_badge(member.role),
    )


def _remove_button(member, is_me, busy, place: str) -> rx.Component:
    return rx.icon_button(
        rx.cond(is_me, rx.icon("log-out", size=16), rx.icon("user-round-x", size=16)),
        variant="ghost",
        color_scheme="red",
        loading=busy,
        aria_label=rx.cond(is_me, f"Leave the {place}", "Remove " + member.name),
        title=rx.cond(is_me, f"Leave the {place}", f"Remove from the {place}"),
    )


def _remove(
    member, is_me, busy, on_remove, place: str, consequence: str, last_owner
) -> rx.Component:
    # The last owner can neither leave nor be removed (the services refuse it): say so at
    # once, instead of a confirmation that describes a consequence that will not happen.
    return rx.cond(
        last_owner,
        notice_dialog(
            _remove_button(member, is_me, busy, place),
            rx.cond(is_me, "You are the only owner", member.name + " is the only owner"),
            f"A {place} needs at least one owner; make someone else owner first.",
            class_name="last-owner-notice",
        ),
        confirm_dialog(
            _remove_button(member, is_me, busy, place),
            rx.cond(is_me, f"Leave the {place}?", "Remove " + member.name + "?"),
            rx.cond(is_me, consequence.replace("They ", "You ", 1), consequence),
            rx.cond(is_me, "Leave", "Remove"),
            on_remove,
        ),
    )


def member_row(
    member,
    *,
    manages,
    busy,
    on_role_change,
    on_remove,
    place: str,
    consequence: str,
    owner_count,
    extra: tuple[rx.Component, ...] = (),
) -> rx.Component:
    """A member (``MemberRow``) of the ``place`` ("project" or "team"): person, role, the
    ``extra`` cells, when they joined, and remove (owners, ``manages``) or leave (oneself).
    ``owner_count``: how many owners the place has (its last one cannot go)."""
    is_me = member.email == AuthState.user_email
    last_owner = (member.role == "owner") & (owner_count <= 1)
    return rx.table.row(
        rx.table.cell(person(member.name, member.email)),
        rx.table.cell(_role(member, manages, busy, on_role_change)),
        *[rx.table.cell(cell) for cell in extra],
        rx.table.cell(time_ago(member.joined, member.joined_at)),
        rx.table.cell(
            rx.cond(
                manages | is_me,
                _remove(member, is_me, busy, on_remove, place, consequence, last_owner),
            ),
            text_align="right",
        ),
        align="center",
    )
