-- Every stored SMS status callback answered 200: seed 004's delivery report (kind sms) and seed
-- 000's campaign message callback (kind campaign_sms), typed into one shape. A plain projection
-- (repeats are removed where they are stored once, int_sms_callback_statuses), so a filter on
-- loaded_at reaches the raw scan.
with callbacks as (
    {{ usable_callbacks(source('raw', 'callbacks'), ['sms', 'campaign_sms']) }}
),

fields as (
    select
        callback_key,
        kind,
        payload ->> 'SmsSid' as sms_sid,
        nullif(payload ->> 'CampaignSid', '') as campaign_id,
        nullif(payload ->> 'To', '') as recipient_number,
        lower(payload ->> 'Status') as status,
        nullif(payload ->> 'DetailedStatus', '') as detailed_status,
        try_cast(payload ->> 'DetailedStatusCode' as integer) as detailed_status_code,
        nullif(payload ->> 'ErrorCode', '') as error_code,
        {{ callback_time("payload ->> 'SentAt'") }} as submitted_at,
        {{ callback_time("payload ->> 'DeliveredAt'") }} as delivered_at,
        {{ callback_time("payload ->> 'UpdatedAt'") }} as updated_at,
        received_at,
        line_no,
        loaded_at
    from callbacks
)

select
    *,
    -- When the status happened: the provider's time where the callback carries one, else
    -- when it reached us.
    coalesce(updated_at, delivered_at, received_at) as status_at
from fields
