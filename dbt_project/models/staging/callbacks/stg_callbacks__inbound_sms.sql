-- Every stored reply a recipient sent (inbound SMS), typed, with its first word upper-cased for
-- the unsubscribe keywords. A plain projection, like stg_callbacks__sms_statuses.
with callbacks as (
    {{ usable_callbacks(source('raw', 'callbacks'), ['inbound_sms']) }}
)

select
    callback_key,
    payload ->> 'From' as sender_number,
    nullif(payload ->> 'To', '') as to_number,
    payload ->> 'Body' as body,
    upper(regexp_extract(payload ->> 'Body', '^\s*([A-Za-z]+)', 1)) as first_word,
    coalesce({{ callback_time("payload ->> 'ReceivedAt'") }}, received_at) as received_at,
    line_no,
    loaded_at
from callbacks
