-- One row per call attempt (CDR). Incremental like fct_sms_messages: the changed campaigns'
-- rows are replaced whole.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='campaign_id',
    on_schema_change='append_new_columns',
) }}

with attempts as (
    select attempts.*
    from {{ ref('stg_exotel__call_attempts') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', source('raw', 'call_attempts')) }}
)

select
    call_sid,
    campaign_id,
    contact_number,
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
