"""Typed errors of the serving core; each carries the HTTP status it maps to (see ``api``)."""

from __future__ import annotations


def error_line(exc: BaseException, limit: int) -> str:
    """``"TypeName: first line of the message"`` cut to ``limit`` characters: an error a log line or
    a JSON answer can carry (tracebacks and multi-line library messages are not for users)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:limit]


def reason_phrase(message: str, limit: int = 200) -> str:
    """``message`` as an HTTP reason phrase: one line of printable Latin-1, at most ``limit`` long.

    Label Studio shows a failed connection as requests words it, "422 Client Error: <reason phrase>
    for url: ...", and drops the body: the phrase is the only place its user reads why."""
    printable = "".join(char if char.isprintable() else " " for char in message)
    line = " ".join(printable.split())
    return line.encode("latin-1", "replace").decode("latin-1")[:limit]


class BackendError(Exception):
    """Base of every error the API turns into a JSON response ``{"error", "error_type"}``."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def error_type(self) -> str:
        return type(self).__name__


class ConfigurationError(BackendError):
    """The environment or a project's label config cannot be served."""

    status = 500


class BadRequest(BackendError):
    """The request body is malformed: not JSON, wrong types, missing fields."""

    status = 400


class Unauthorized(BackendError):
    """Basic auth is on and the request's credentials are missing or wrong."""

    status = 401


class NotFound(BackendError):
    """An unknown route, project or model version."""

    status = 404


class PayloadTooLarge(BackendError):
    """The body exceeds ``MAX_REQUEST_BYTES``."""

    status = 413


class UnsupportedMediaType(BackendError):
    """A body that is not ``application/json``."""

    status = 415


class ClientGone(BackendError):
    """The client hung up while its request was being computed; the work stopped early.

    499 is the status nginx logs for this; nobody receives it."""

    status = 499


class UnprocessableEntity(BackendError):
    """Well-formed JSON that cannot be acted on (e.g. a label config this model cannot serve)."""

    status = 422


class TooManyRequests(BackendError):
    """The backend refuses more work of this kind for now."""

    status = 429


class NotReady(BackendError):
    """The model class is still loading, or failed to load."""

    status = 503


class ModelUnavailable(BackendError):
    """One project's model cannot be loaded right now; the others are served, loading is retried."""

    status = 503


class StateUnavailable(BackendError):
    """The shared state (Redis) cannot be reached; nothing can be served or recorded until it is."""

    status = 503


class LabelStudioUnavailable(BackendError):
    """Label Studio could not be reached or refused our credentials while fetching data."""

    status = 503


class LabelStudioRefused(LabelStudioUnavailable):
    """Label Studio answered 401/403 to the token we hold for a project (``reason`` says why)."""

    def __init__(self, message: str, status_code: int, reason: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason

    @property
    def legacy_tokens_disabled(self) -> bool:
        """Whether Label Studio said legacy tokens are off for the organization (its default)."""
        return "legacy token" in self.reason.lower()


class LabelStudioNotConnected(LabelStudioUnavailable):
    """No Label Studio URL and token are known for a project yet."""


class DataAccessDenied(BackendError):
    """A task refers to a URL outside the configured Label Studio host."""

    status = 422


class TaskDataUnreadable(BackendError):
    """A task refers to a file Label Studio does not have (or cannot find in the project's storages)."""

    status = 422


class LabelConfigMismatch(UnprocessableEntity, AssertionError):
    """The label config is not the shape a model expects (an ``AssertionError``, as upstream raised)."""
