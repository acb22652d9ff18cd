-- The latest pull of each call attempt. Some accounts omit attempt_number: then it is the rank
-- of start_time among the campaign's attempts to the same number (docs/api-contract.md).
with source as (
    select * from {{ source('raw', 'call_attempts') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by campaign_id, call_sid order by loaded_at desc, record_seq desc
    ) = 1
)

select
    'exotel' as provider,
    campaign_id,
    call_sid,
    to_number as contact_number,
    from_number as caller_id,
    coalesce(
        attempt_number,
        row_number() over (partition by campaign_id, to_number order by start_time, call_sid)
    ) as attempt_number,
    status,
    start_time as started_at,
    end_time as ended_at,
    duration as duration_seconds,
    price,
    recording_url,
    loaded_at
from latest
