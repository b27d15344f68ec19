"""Errors a caller can cause; the REST layer and the UI turn them into responses and toasts."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``message`` is written for the person who caused it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAuthenticated(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class InvalidInput(ServiceError):
    pass


class TooManyAttempts(ServiceError):
    """Refused for now because of too many recent failures; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
