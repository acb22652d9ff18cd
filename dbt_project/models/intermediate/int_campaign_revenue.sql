{{ config(materialized='table') }}

-- Per campaign, the conversions credited to it (int_conversions_attributed): revenue counts
-- those in revenue_currency (REVENUE_CURRENCY, the currency of the provider's costs).
select
    provider,
    campaign_id,
    count(*) as conversions,
    coalesce(sum(amount) filter (where currency = '{{ var("revenue_currency") }}'), 0)
        as revenue
from {{ ref('int_conversions_attributed') }}
where is_attributed
group by provider, campaign_id
