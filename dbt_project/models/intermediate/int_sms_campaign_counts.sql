-- The counts behind every SMS campaign rate (one row per campaign).
with messages as (
    select * from {{ ref('int_sms_messages_classified') }} as messages
    where {{ only_changed_campaigns('messages.campaign_id', ref('int_sms_messages_classified')) }}
)

select
    provider,
    campaign_id,
    count(*) as messages_total,
    count(*) filter (where is_submitted) as messages_submitted,
    count(*) filter (where is_delivered) as messages_delivered,
    count(*) filter (where is_failed) as messages_failed,
    count(*) filter (where is_expired) as messages_expired,
    count(*) filter (where is_rejected) as messages_rejected,
    count(*) filter (where is_pending) as messages_pending,
    -- a provider event the warehouse does not know (kept, never dropped)
    count(*) filter (where status = 'unknown') as messages_unknown,
    count(*) filter (where bounce_type = 'soft') as soft_bounces,
    count(*) filter (where bounce_type = 'hard') as hard_bounces,
    count(*) filter (where error_category = 'dlt_rejection') as dlt_rejections,
    coalesce(sum(parts), 0)::bigint as parts_total,
    coalesce(sum(cost), 0) as total_cost,
    avg(delivery_latency_seconds) as avg_delivery_latency_seconds,
    quantile_cont(delivery_latency_seconds, 0.5) as p50_delivery_latency_seconds,
    quantile_cont(delivery_latency_seconds, 0.9) as p90_delivery_latency_seconds,
    max(loaded_at) as loaded_at
from messages
group by provider, campaign_id
