"""Client for the Exotel-style campaign reporting API (see the project's API contract)."""

from orchestration.lib.exotel.client import ExotelClient, Page, RetryPolicy
from orchestration.lib.exotel.errors import (
    ApiError,
    AuthenticationError,
    CampaignNotFoundError,
    ExotelError,
    InvalidIdError,
    MalformedResponseError,
    MessageNotFoundError,
    TransientApiError,
)

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CampaignNotFoundError",
    "ExotelClient",
    "ExotelError",
    "InvalidIdError",
    "MalformedResponseError",
    "MessageNotFoundError",
    "Page",
    "RetryPolicy",
    "TransientApiError",
]
