-- Every distinct reply a recipient sent (inbound SMS), with its first word upper-cased for the
-- unsubscribe keywords.
with callbacks as (
    select * from {{ source('raw', 'callbacks') }}
    where kind = 'inbound_sms' and reject_reason is null
    qualify row_number() over (partition by callback_key order by loaded_at, line_no) = 1
)

select
    callback_key,
    payload ->> 'From' as sender_number,
    nullif(payload ->> 'To', '') as to_number,
    payload ->> 'Body' as body,
    upper(regexp_extract(payload ->> 'Body', '^\s*([A-Za-z]+)', 1)) as first_word,
    coalesce({{ callback_time("payload ->> 'ReceivedAt'") }}, received_at) as received_at,
    loaded_at
from callbacks
