-- Every status each SMS message went through, when, and how we learnt it (seed 004: "store
-- delivery reports with the SmsSid for audit trails"): one row per message, status, status time
-- and source (pull, or the callback kind). A status seen several times (re-pulled, a callback
-- sent twice) is one row, first_recorded_at when it first reached the warehouse. Incremental by
-- campaign like the facts: a run rebuilds the history of the campaigns it touched.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

{%- set changed = only_changed_campaigns('campaign_id',
    [source('raw', 'sms_messages'), ref('int_sms_callback_statuses'),
     ref('int_brevo_sms_messages')]) %}

with pulled as (
    select
        'exotel' as provider,
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
        'exotel' as provider,
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
),

brevo_events as (
    select * from {{ ref('brevo_events') }}
),

-- Brevo: each recipient row of each export, each transactional event, each webhook, keyed as
-- int_brevo_sms_messages keys the message (a transactional one's campaign is its tag and day).
brevo_messages as (
    select sms_sid, campaign_id from {{ ref('int_brevo_sms_messages') }}
    where {{ changed }}
),

brevo_observed as (
    select
        {{ brevo_message_key('recipients.campaign_id', 'recipients.sms') }} as sms_sid,
        recipients.event,
        recipients.event_at as status_at,
        'pull' as source,
        recipients.loaded_at
    from {{ source('raw', 'brevo_recipients') }} as recipients
    union all
    select
        message_id as sms_sid,
        event,
        event_at as status_at,
        'pull' as source,
        loaded_at
    from {{ source('raw', 'brevo_transactional_events') }}
    union all
    select
        {{ brevo_message_key(
            "case when message_type = 'marketing' then campaign_id end",
            'number_digits', 'message_id') }} as sms_sid,
        provider_event as event,
        status_at,
        'callback:brevo_sms' as source,
        loaded_at
    from {{ ref('stg_brevo__webhook_events') }}
),

brevo as (
    select
        'brevo' as provider,
        brevo_messages.campaign_id,
        observed.sms_sid,
        coalesce(brevo_events.status, 'unknown') as status,
        observed.event as detailed_status,
        null::integer as detailed_status_code,
        null::varchar as error_code,
        observed.status_at,
        observed.source,
        observed.loaded_at
    from brevo_observed as observed
    inner join brevo_messages on observed.sms_sid = brevo_messages.sms_sid
    left join brevo_events on lower(observed.event) = brevo_events.event
)

select
    provider,
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
    union all
    select * from brevo
) as observed
group by provider, campaign_id, sms_sid, status, status_at, source
