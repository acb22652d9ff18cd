-- Every message and call to each person, across campaigns (seed 002's Find Person / Event
-- Insight): one row per SMS message or call attempt with its status, detailed status, fail
-- reason and times in the account's zone. `campaign-analytics recipient` reads it by number,
-- external id or email; the published copy adds recipient_key, a keyed hash of the number, so
-- a full number finds its history in a copy whose numbers are masked.
-- Incremental by campaign, like the facts it repeats.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

with messages as (
    select * from {{ ref('int_sms_messages_classified') }} as messages
    where {{ only_changed_campaigns('messages.campaign_id', ref('int_sms_messages_classified')) }}
),

attempts as (
    select * from {{ ref('int_call_attempts_classified') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', ref('int_call_attempts_classified')) }}
),

call_reasons as (
    select
        code,
        cause as description
    from {{ ref('dim_error_codes') }}
    where channel = 'voice'
),

events as (
    select
        provider,
        'sms' as channel,
        campaign_id,
        recipient_number,
        sms_sid as event_id,
        1 as attempt_number,
        status,
        detailed_status,
        fail_reason,
        {{ to_local('coalesce(submitted_at, last_status_at)') }} as sent_at_local,
        {{ to_local('last_status_at') }} as status_at_local,
        loaded_at
    from messages
    union all
    select
        attempts.provider,
        'voice' as channel,
        attempts.campaign_id,
        attempts.contact_number as recipient_number,
        attempts.call_sid as event_id,
        attempts.attempt_number,
        attempts.status,
        null as detailed_status,
        case when not attempts.is_connected then call_reasons.description end as fail_reason,
        attempts.started_at_local as sent_at_local,
        {{ to_local('coalesce(attempts.ended_at, attempts.started_at)') }} as status_at_local,
        attempts.loaded_at
    from attempts
    left join call_reasons on attempts.status = call_reasons.code
)

select
    events.provider,
    events.channel,
    events.campaign_id,
    campaigns.campaign_name,
    events.recipient_number,
    events.event_id,
    events.attempt_number::integer as attempt_number,
    events.status,
    events.detailed_status,
    events.fail_reason,
    events.sent_at_local,
    events.status_at_local,
    events.loaded_at
from events
left join {{ ref('dim_campaigns') }} as campaigns
    on events.provider = campaigns.provider and events.campaign_id = campaigns.campaign_id
