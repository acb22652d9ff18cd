-- Every status each call attempt was reported with, when, and how we learnt it: the pulled
-- CDR and the call status callback (seed 001), one row per attempt, status and source. The
-- callback's campaign is the CDR's (or its CampaignSid, where the provider sends one).
-- Incremental by campaign like sms_status_history.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

{%- set changed = only_changed_campaigns('campaign_id',
    [source('raw', 'call_attempts'), ref('int_call_callback_statuses')]) %}

with pulled as (
    select
        campaign_id,
        call_sid,
        status,
        duration as duration_seconds,
        coalesce(end_time, start_time) as status_at,
        'pull' as source,
        loaded_at
    from {{ source('raw', 'call_attempts') }}
    where {{ changed }}
),

pushed as (
    select
        campaign_id,
        call_sid,
        status,
        duration_seconds,
        status_at,
        'callback:call' as source,
        loaded_at
    from {{ ref('int_call_callback_statuses') }}
    where campaign_id is not null and {{ changed }}
)

select
    'exotel' as provider,
    campaign_id,
    call_sid,
    status,
    max(duration_seconds) as duration_seconds,
    status_at,
    source,
    min(loaded_at) as first_recorded_at,
    max(loaded_at) as loaded_at
from (
    select * from pulled
    union all
    select * from pushed
) as observed
group by campaign_id, call_sid, status, status_at, source
