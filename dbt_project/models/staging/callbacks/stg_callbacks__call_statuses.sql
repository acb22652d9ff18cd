-- Every stored call status callback answered 200 (seed 001: fires after each call attempt),
-- typed. A plain projection, like stg_callbacks__sms_statuses.
with callbacks as (
    {{ usable_callbacks(source('raw', 'callbacks'), ['call']) }}
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
    line_no,
    loaded_at
from callbacks
