-- The latest complete pull of each campaign: whether its receipt window has closed and whether
-- it is final (window closed and details reconciled with the stats). Pulls recorded before the
-- ledger had window_closed counted a closed window as final.
with source as (
    select * from {{ source('raw', 'campaign_pulls') }}
)

select
    channel,
    campaign_id,
    is_final,
    coalesce(window_closed, is_final) as is_receipt_window_closed,
    pulled_at as last_pulled_at,
    is_reconciled as last_pull_reconciled
from source
qualify row_number() over (partition by campaign_id order by loaded_at desc) = 1
