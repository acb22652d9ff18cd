-- The counts behind every SMS campaign rate (one row per campaign).
-- Incremental by campaign: a run re-derives only the campaigns whose facts changed (deleting
-- their old rows first), so a daily run costs the day's campaigns, not the whole history.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='campaign_id',
) }}

with messages as (
    select * from {{ ref('fct_sms_messages') }} as messages
    where {{ only_changed_campaigns('messages.campaign_id', ref('fct_sms_messages')) }}
)

select
    campaign_id,
    count(*) as messages_total,
    count(*) filter (where is_submitted) as messages_submitted,
    count(*) filter (where is_delivered) as messages_delivered,
    count(*) filter (where is_failed) as messages_failed,
    count(*) filter (where is_expired) as messages_expired,
    count(*) filter (where is_rejected) as messages_rejected,
    count(*) filter (where is_pending) as messages_pending,
    count(*) filter (where bounce_type = 'soft') as soft_bounces,
    count(*) filter (where bounce_type = 'hard') as hard_bounces,
    coalesce(sum(parts), 0)::bigint as parts_total,
    coalesce(sum(cost), 0) as total_cost,
    avg(delivery_latency_seconds) as avg_delivery_latency_seconds,
    quantile_cont(delivery_latency_seconds, 0.5) as p50_delivery_latency_seconds,
    quantile_cont(delivery_latency_seconds, 0.9) as p90_delivery_latency_seconds,
    max(loaded_at) as loaded_at
from messages
group by campaign_id
