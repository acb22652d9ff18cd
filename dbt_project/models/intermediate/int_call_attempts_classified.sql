-- One row per call attempt (CDR), classified (connected, retry, local start time). Incremental
-- by campaign like int_sms_messages_classified; the mart fct_call_attempts is a view of it.
with attempts as (
    select attempts.*
    from {{ ref('stg_exotel__call_attempts') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', source('raw', 'call_attempts')) }}
)

select
    provider,
    call_sid,
    campaign_id,
    contact_number,
    coalesce(regexp_full_match(contact_number, '{{ var("valid_phone_number_pattern") }}'), false)
        as is_valid_number,
    caller_id,
    attempt_number::integer as attempt_number,
    attempt_number > 1 as is_retry,
    status,
    status = 'completed' as is_connected,
    started_at,
    ended_at,
    {{ to_local('started_at') }} as started_at_local,
    duration_seconds,
    price,
    recording_url,
    loaded_at
from attempts
