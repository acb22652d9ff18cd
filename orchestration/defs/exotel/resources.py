"""The provider's API as a resource: a client for this run's settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from orchestration.lib.exotel import ExotelClient
from orchestration.lib.settings import Settings


@dataclass(frozen=True)
class ExotelApi:
    """The account's campaign reporting API (EXOTEL_* settings).

    A plain object, handed to assets as `dg.ResourceParam[ExotelApi]` by `resources_for`: a
    ConfigurableResource's fields are stored in Dagster's run storage, and these include the
    API key and token."""

    settings: Settings

    @contextmanager
    def open_client(self) -> Iterator[ExotelClient]:
        self.settings.require_credentials()
        with ExotelClient.from_settings(self.settings) as client:
            yield client
