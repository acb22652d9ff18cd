-- Every distinct call status callback (seed 001: fires after each call attempt).
with callbacks as (
    select * from {{ source('raw', 'callbacks') }}
    where kind = 'call' and reject_reason is null
    qualify row_number() over (partition by callback_key order by loaded_at, line_no) = 1
)

select
    callback_key,
    payload ->> 'CallSid' as call_sid,
    nullif(payload ->> 'CampaignSid', '') as campaign_id,
    nullif(payload ->> 'To', '') as contact_number,
    lower(payload ->> 'Status') as status,
    try_cast(payload ->> 'Duration' as integer) as duration_seconds,
    coalesce({{ callback_time("payload ->> 'DateCreated'") }}, received_at) as status_at,
    received_at,
    loaded_at
from callbacks
