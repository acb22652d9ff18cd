"""Brevo's SMS API as the pipeline speaks it (docs: ../shared/brevo-contract.md)."""

from orchestration.lib.brevo.client import BrevoClient, RequestBudget
from orchestration.lib.brevo.errors import (
    BrevoApiError,
    BrevoAuthenticationError,
    BrevoError,
    BrevoTransientError,
    ExportFailedError,
    ExportNotReadyError,
)

__all__ = ["BrevoApiError", "BrevoAuthenticationError", "BrevoClient", "BrevoError",
           "BrevoTransientError", "ExportFailedError", "ExportNotReadyError", "RequestBudget"]
