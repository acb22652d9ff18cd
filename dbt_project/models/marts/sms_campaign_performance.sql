-- One row per SMS campaign of every provider (Brevo's transactional traffic as one per tag and
-- day): seed 000's and seed 003's metrics, with the counts behind every rate.
with counts as (
    select * from {{ ref('int_sms_campaign_counts') }}
),

campaigns as (
    select * from {{ ref('int_sms_campaigns') }}
),

replies as (
    select * from {{ ref('int_sms_campaign_replies') }}
),

revenue as (
    select * from {{ ref('int_campaign_revenue') }}
),

-- The drop detector: the campaign's worst hour against the account's usual rate at that hour.
hour_drops as (
    select
        provider,
        campaign_id,
        max(relative_drop) as delivery_rate_hour_drop
    from {{ ref('hourly_success_rates') }}
    where channel = 'sms'
    group by provider, campaign_id
),

rates as (
    select
        campaigns.provider,
        campaigns.campaign_id,
        campaigns.traffic_kind,
        campaigns.campaign_name,
        campaigns.campaign_status,
        campaigns.message_type,
        campaigns.started_at,
        coalesce(counts.messages_total, 0) as messages_total,
        coalesce(counts.messages_submitted, 0) as messages_submitted,
        coalesce(counts.messages_delivered, 0) as messages_delivered,
        coalesce(counts.messages_failed, 0) as messages_failed,
        coalesce(counts.messages_expired, 0) as messages_expired,
        coalesce(counts.messages_rejected, 0) as messages_rejected,
        coalesce(counts.messages_pending, 0) as messages_pending,
        coalesce(counts.messages_unknown, 0) as messages_unknown,
        coalesce(counts.soft_bounces, 0) as soft_bounces,
        coalesce(counts.hard_bounces, 0) as hard_bounces,
        coalesce(counts.dlt_rejections, 0) as dlt_rejections,
        {{ safe_divide('counts.messages_delivered', 'counts.messages_submitted') }}
            as delivery_rate,
        {{ safe_divide('counts.messages_rejected', 'counts.messages_total') }} as rejection_rate,
        {{ safe_divide('counts.messages_failed', 'counts.messages_submitted') }} as failure_rate,
        {{ safe_divide('counts.messages_delivered', 'counts.messages_total') }}
            as effective_reach,
        {{ safe_divide('counts.dlt_rejections', 'counts.messages_total') }}
            as dlt_rejection_rate,
        {{ safe_divide('counts.soft_bounces', 'counts.messages_submitted') }}
            as soft_bounce_rate,
        {{ safe_divide('counts.hard_bounces', 'counts.messages_submitted') }}
            as hard_bounce_rate,
        coalesce(counts.parts_total, 0) as parts_total,
        coalesce(counts.total_cost, 0)::decimal(18, 6) as total_cost,
        {{ safe_divide('counts.total_cost', 'counts.messages_delivered') }}
            as cost_per_delivered_message,
        coalesce(replies.recipients_replied, 0) as recipients_replied,
        coalesce(replies.recipients_unsubscribed, 0) as recipients_unsubscribed,
        {{ safe_divide('replies.recipients_replied', 'counts.messages_delivered') }}
            as reply_rate,
        {{ safe_divide('replies.recipients_unsubscribed', 'counts.messages_delivered') }}
            as unsubscribe_rate,
        counts.avg_delivery_latency_seconds,
        counts.p50_delivery_latency_seconds,
        counts.p90_delivery_latency_seconds,
        campaigns.reported_total,
        campaigns.reported_submitted,
        campaigns.reported_delivered,
        campaigns.reported_failed,
        campaigns.reported_pending,
        campaigns.reported_rejected,
        hour_drops.delivery_rate_hour_drop,
        coalesce(revenue.conversions, 0) as conversions,
        coalesce(revenue.revenue, 0)::decimal(18, 4) as revenue,
        {{ sms_cost_in_currency('coalesce(counts.total_cost, 0)', 'campaigns.provider') }}
            as total_cost_in_currency,
        {{ safe_divide('revenue.revenue',
                       sms_cost_in_currency('counts.total_cost', 'campaigns.provider')) }}
            as revenue_per_cost
    from campaigns
    left join counts
        on campaigns.provider = counts.provider and campaigns.campaign_id = counts.campaign_id
    left join replies
        on campaigns.provider = replies.provider and campaigns.campaign_id = replies.campaign_id
    left join hour_drops
        on campaigns.provider = hour_drops.provider
        and campaigns.campaign_id = hour_drops.campaign_id
    left join revenue
        on campaigns.provider = revenue.provider and campaigns.campaign_id = revenue.campaign_id
),

health as (
    {{ health_status('rates', 'sms',
                     ['delivery_rate', 'rejection_rate', 'failure_rate', 'effective_reach'],
                     'messages_submitted + messages_rejected > 0') }}
)

select
    rates.*,
    rates.messages_total = rates.reported_total
        and rates.messages_delivered = rates.reported_delivered
        and rates.messages_failed = rates.reported_failed
        and rates.messages_rejected = rates.reported_rejected as is_reconciled,
    health.health_status,
    health.health_reasons
from rates
inner join health
    on rates.provider = health.provider and rates.campaign_id = health.campaign_id
