"""What can go wrong talking to Brevo, each with a message that says what to do."""


class BrevoError(Exception):
    """Any failure of the Brevo API client."""


class BrevoAuthenticationError(BrevoError):
    """401: the key is wrong; nothing else will work, so the run stops at once."""


class BrevoTransientError(BrevoError):
    """5xx, resets or 429s that outlasted the retries: try the run again later."""


class BrevoApiError(BrevoError):
    """An answer the client cannot use (4xx other than 401/429, a body that is not JSON)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ExportNotReadyError(BrevoError):
    """A recipients export still queued or in process after the wait: retried next run."""


class ExportFailedError(BrevoError):
    """Brevo reported the recipients export as failed: requested again next run."""
