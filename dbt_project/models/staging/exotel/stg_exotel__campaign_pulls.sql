-- The latest complete pull of each campaign: whether the campaign is final.
with source as (
    select * from {{ source('raw', 'campaign_pulls') }}
)

select
    channel,
    campaign_id,
    is_final,
    pulled_at as last_pulled_at,
    is_reconciled as last_pull_reconciled
from source
qualify row_number() over (partition by campaign_id order by loaded_at desc) = 1
