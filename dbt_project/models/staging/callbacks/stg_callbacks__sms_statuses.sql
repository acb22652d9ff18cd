-- Every distinct SMS status callback: seed 004's delivery report (kind sms) and seed 000's
-- campaign message callback (kind campaign_sms), in one shape. The provider retries a callback
-- that got no 200 in 5 s, so the same callback can be stored more than once: it counts once.
with callbacks as (
    select * from {{ source('raw', 'callbacks') }}
    where kind in ('sms', 'campaign_sms') and reject_reason is null
),

distinct_callbacks as (
    select *
    from callbacks
    qualify row_number() over (partition by callback_key order by loaded_at, line_no) = 1
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
        loaded_at
    from distinct_callbacks
)

select
    *,
    -- When the status happened: the provider's time where the callback carries one, else
    -- when it reached us.
    coalesce(updated_at, delivered_at, received_at) as status_at
from fields
