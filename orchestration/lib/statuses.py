"""The provider's status vocabularies (docs/api-contract.md), shared by the pull's contracts and
the callback receiver, so a status one path accepts the other accepts too."""

SMS_STATUSES = ["queued", "sending", "submitted", "sent", "delivered", "failed", "rejected",
                "expired"]
CALL_STATUSES = ["completed", "busy", "no-answer", "failed", "canceled"]
CAMPAIGN_STATUSES = ["Created", "Scheduled", "In-Progress", "Paused", "Completed", "Failed",
                     "Canceled"]
MESSAGE_TYPES = ["transactional", "promotional", "service"]
