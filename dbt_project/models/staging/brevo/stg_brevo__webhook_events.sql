-- Every stored Brevo SMS webhook answered 200 (kind brevo_sms), typed: transactional and
-- marketing alike, its status mapped by the seed brevo_events. Its time is ts_event (UTC epoch
-- seconds), never `date` (Paris local time). A plain projection: Brevo retries a webhook up to
-- 4 times, so repeats (same callback_key) are removed where messages are merged
-- (int_brevo_sms_messages).
with callbacks as (
    {{ usable_callbacks(source('raw', 'callbacks'), ['brevo_sms']) }}
),

fields as (
    select
        callback_key,
        payload ->> 'messageId' as message_id,
        nullif(payload ->> 'campaign_id', '') as campaign_id,
        coalesce(nullif(payload ->> 'type', ''), 'transactional') as message_type,
        regexp_replace(payload ->> 'to', '[^0-9]', '', 'g') as number_digits,
        lower(payload ->> 'msg_status') as provider_event,
        to_timestamp(try_cast(payload ->> 'ts_event' as bigint)) as status_at,
        try_cast(payload ->> 'sms_count' as integer) as parts,
        try_cast(payload ->> 'credits_used' as double) as credits_used,
        nullif(payload ->> 'tag', '') as tag,
        received_at,
        line_no,
        loaded_at
    from callbacks
),

events as (
    select * from {{ ref('brevo_events') }}
)

select
    'brevo' as provider,
    fields.*,
    coalesce(events.status, 'unknown') as status,
    events.bounce_type,
    coalesce(events.is_replied, false) as is_replied,
    coalesce(events.is_unsubscribed, false) as is_unsubscribed
from fields
left join events on fields.provider_event = events.event
