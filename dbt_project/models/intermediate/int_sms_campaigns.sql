-- Every provider's SMS campaigns in one shape, keyed by (provider, campaign_id), with the
-- figures the provider itself reports (reported_*, the reconciliation's other side).
-- Brevo: its marketing campaigns (sent = delivered + processing + soft + hard bounces; Brevo
-- rejects nothing it counts as sent), and its transactional traffic as one pseudo-campaign per
-- tag and local day (int_brevo_sms_messages), which reports no figures of its own; and a
-- campaign only its webhooks have shown so far.
{{ config(materialized='view') }}

with exotel as (
    select * from {{ ref('stg_exotel__sms_campaigns') }}
),

brevo as (
    select * from {{ ref('stg_brevo__sms_campaigns') }}
),

-- Campaigns known only from their messages: a transactional day (one per tag, reporting no
-- figures of its own), and a campaign whose webhooks arrived before any pull listed it (it
-- started since), shown until the next pull names it.
from_messages as (
    select
        provider,
        campaign_id,
        traffic_kind,
        any_value(tag) as tag,
        min(submitted_at) as started_at,
        max(submitted_at) as ended_at,
        max(loaded_at) as loaded_at
    from {{ ref('int_brevo_sms_messages') }}
    where
        traffic_kind = 'transactional'
        or campaign_id not in (select brevo.campaign_id from brevo)
    group by provider, campaign_id, traffic_kind
)

select
    provider,
    campaign_id,
    'campaign' as traffic_kind,
    campaign_name,
    campaign_status,
    created_at,
    started_at,
    ended_at,
    sender_id,
    message_type,
    dlt_template_id,
    null::varchar[] as list_ids,
    reported_total,
    reported_submitted,
    reported_delivered,
    reported_failed,
    reported_pending,
    reported_rejected,
    loaded_at
from exotel
union all
select
    provider,
    campaign_id,
    'campaign' as traffic_kind,
    campaign_name,
    campaign_status,
    created_at,
    started_at,
    null::timestamptz as ended_at,
    sender_id,
    'promotional' as message_type,
    null::varchar as dlt_template_id,
    list_ids,
    reported_sent as reported_total,
    reported_sent as reported_submitted,
    reported_delivered,
    reported_soft_bounces + reported_hard_bounces as reported_failed,
    reported_processing as reported_pending,
    0::bigint as reported_rejected,
    loaded_at
from brevo
union all
select
    provider,
    campaign_id,
    traffic_kind,
    case
        when traffic_kind = 'transactional'
            then 'Transactional ' || coalesce(tag, 'untagged') || ', '
            || coalesce(strftime({{ to_local('started_at') }}, '%Y-%m-%d'), 'undated')
        else 'Brevo campaign ' || campaign_id || ' (not pulled yet)'
    end as campaign_name,
    case when traffic_kind = 'transactional' then 'sent' else 'inProcess' end
        as campaign_status,
    started_at as created_at,
    started_at,
    case when traffic_kind = 'transactional' then ended_at end as ended_at,
    null::varchar as sender_id,
    case when traffic_kind = 'transactional' then 'transactional' else 'promotional' end
        as message_type,
    null::varchar as dlt_template_id,
    null::varchar[] as list_ids,
    null::bigint as reported_total,
    null::bigint as reported_submitted,
    null::bigint as reported_delivered,
    null::bigint as reported_failed,
    null::bigint as reported_pending,
    null::bigint as reported_rejected,
    loaded_at
from from_messages
