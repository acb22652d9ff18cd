"""The ways a call to the provider can fail, each with a message that says what to do."""


class ExotelError(Exception):
    """Base class for every error the API client raises."""


class AuthenticationError(ExotelError):
    """HTTP 401: the key or token is wrong. Retrying cannot help, so the run stops at once."""


class CampaignNotFoundError(ExotelError):
    """HTTP 404 on a campaign: recorded, and the other campaigns go on."""

    def __init__(self, campaign_id: str, path: str) -> None:
        super().__init__(f"campaign {campaign_id!r} was not found (HTTP 404 on {path})")
        self.campaign_id = campaign_id
        self.path = path


class MessageNotFoundError(ExotelError):
    """HTTP 404 on a single message: the caller reads its campaign's pages instead."""

    def __init__(self, sms_sid: str, path: str) -> None:
        super().__init__(f"message {sms_sid!r} was not found (HTTP 404 on {path})")
        self.sms_sid = sms_sid


class MalformedResponseError(ExotelError):
    """A 200 whose body is not the documented envelope: never read as an empty page."""


class TransientApiError(ExotelError):
    """429/5xx/reset/timeout that persisted past the retry budget."""


class InvalidIdError(ExotelError, ValueError):
    """An id that is not a plain token: never sent as part of a URL."""


class ApiError(ExotelError):
    """Any other non-success answer (400, 403, ...)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
