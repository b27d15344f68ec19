"""The Radix theme of the whole app; light or dark follows the user's choice (rx.color_mode)."""

import reflex as rx

THEME = rx.theme(
    appearance="inherit",
    accent_color="indigo",
    gray_color="slate",
    radius="medium",
    scaling="100%",
    has_background=True,
)
