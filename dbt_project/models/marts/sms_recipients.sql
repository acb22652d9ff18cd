-- One row per SMS message: the provider's recipient list (number, final status, detailed status,
-- reason, submitted and delivered times), the reason in words where the message did not arrive.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
)

select
    messages.provider,
    messages.campaign_id,
    messages.sms_sid,
    messages.recipient_number,
    messages.is_valid_number,
    messages.status,
    messages.detailed_status,
    messages.detailed_status_code,
    messages.fail_reason,
    messages.submitted_at,
    messages.delivered_at,
    messages.loaded_at
from messages
