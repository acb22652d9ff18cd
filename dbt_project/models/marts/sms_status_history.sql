-- Every status each SMS message went through, when, and how we learnt it (seed 004: "store
-- delivery reports with the SmsSid for audit trails"): one row per message, status, status time
-- and source (pull, or the callback kind). A status seen several times (re-pulled, a callback
-- sent twice) is one row, first_recorded_at when it first reached the warehouse. Incremental by
-- campaign like the facts: a run rebuilds the history of the campaigns it touched.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

{%- set changed = only_changed_campaigns('campaign_id',
    [source('raw', 'sms_messages'), ref('int_sms_callback_statuses')]) %}

with pulled as (
    select
        campaign_id,
        sms_sid,
        status,
        detailed_status,
        detailed_status_code,
        error_code,
        coalesce(updated_at, delivered_at, submitted_at) as status_at,
        'pull' as source,
        loaded_at
    from {{ source('raw', 'sms_messages') }}
    where {{ changed }}
),

pushed as (
    select
        campaign_id,
        sms_sid,
        status,
        detailed_status,
        detailed_status_code,
        error_code,
        status_at,
        'callback:' || kind as source,
        loaded_at
    from {{ ref('int_sms_callback_statuses') }}
    where campaign_id is not null and {{ changed }}
)

select
    campaign_id,
    sms_sid,
    status,
    max(detailed_status) as detailed_status,
    max(detailed_status_code) as detailed_status_code,
    max(error_code) as error_code,
    status_at,
    source,
    min(loaded_at) as first_recorded_at,
    max(loaded_at) as loaded_at
from (
    select * from pulled
    union all
    select * from pushed
) as observed
group by campaign_id, sms_sid, status, status_at, source
