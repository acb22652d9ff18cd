-- One row per SMS provider, destination country and week (Monday, in the account's zone, of
-- the message's submission; rejected ones by their last status): which provider serves which
-- country best. Delivery, failure, bounce and rejection rates in the terms of the campaign
-- marts, delivery latency, and cost per delivered in REVENUE_CURRENCY (each provider's credits
-- at its own price: SMS_CREDIT_PRICE, BREVO_CREDIT_PRICE), with the volumes behind each rate.
-- The country is the recipient's by calling code (+1 is shared by the NANP countries: US).
with messages as (
    select
        messages.*,
        {{ country_of('countries') }} as destination_country,
        {{ calling_code_of('countries') }} as calling_code
    from {{ ref('int_sms_messages_classified') }} as messages
    {{ country_joins('messages.recipient_number', 'countries') }}
),

weekly as (
    select
        provider,
        destination_country,
        '+' || any_value(calling_code) as calling_code,
        date_trunc('week', coalesce(submitted_at_local, {{ to_local('last_status_at') }}))::date
            as week_start,
        count(*) as messages_total,
        count(*) filter (where is_submitted) as messages_submitted,
        count(*) filter (where is_delivered) as messages_delivered,
        count(*) filter (where is_failed) as messages_failed,
        count(*) filter (where bounce_type = 'soft') as soft_bounces,
        count(*) filter (where bounce_type = 'hard') as hard_bounces,
        count(*) filter (where is_rejected) as messages_rejected,
        count(*) filter (where is_pending) as messages_pending,
        avg(delivery_latency_seconds) as avg_delivery_latency_seconds,
        quantile_cont(delivery_latency_seconds, 0.5) as p50_delivery_latency_seconds,
        quantile_cont(delivery_latency_seconds, 0.9) as p90_delivery_latency_seconds,
        -- a cost known only for some messages (Brevo's come with webhooks): counted apart
        count(cost) as messages_costed,
        count(*) filter (where is_delivered and cost is not null) as delivered_costed,
        sum(cost) as total_cost
    from messages
    group by provider, destination_country, week_start
)

select
    provider,
    destination_country,
    calling_code,
    week_start,
    messages_total,
    messages_submitted,
    messages_delivered,
    messages_failed,
    soft_bounces,
    hard_bounces,
    messages_rejected,
    messages_pending,
    messages_costed,
    delivered_costed,
    {{ safe_divide('messages_delivered', 'messages_submitted') }} as delivery_rate,
    {{ safe_divide('messages_failed', 'messages_submitted') }} as failure_rate,
    {{ safe_divide('soft_bounces', 'messages_submitted') }} as soft_bounce_rate,
    {{ safe_divide('hard_bounces', 'messages_submitted') }} as hard_bounce_rate,
    {{ safe_divide('messages_rejected', 'messages_total') }} as rejection_rate,
    avg_delivery_latency_seconds,
    p50_delivery_latency_seconds::double as p50_delivery_latency_seconds,
    p90_delivery_latency_seconds::double as p90_delivery_latency_seconds,
    total_cost::decimal(18, 6) as total_cost,
    {{ sms_cost_in_currency('total_cost', 'provider') }} as total_cost_in_currency,
    {{ safe_divide(sms_cost_in_currency('total_cost', 'provider'), 'delivered_costed') }}
        as cost_per_delivered_in_currency
from weekly
