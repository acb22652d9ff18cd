-- The latest version of each message: receipts arrive up to 72 hours late, so the same sms_sid
-- is pulled again with a newer status; the newest updated_at wins, then the newest load.
with source as (
    select * from {{ source('raw', 'sms_messages') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by campaign_id, sms_sid
        order by updated_at desc nulls last, loaded_at desc, record_seq desc
    ) = 1
)

select
    'exotel' as provider,
    campaign_id,
    sms_sid,
    to_number as recipient_number,
    status,
    submitted_at,
    delivered_at,
    updated_at,
    error_code,
    error_message,
    detailed_status,
    detailed_status_code,
    parts,
    cost,
    loaded_at
from latest
