-- The latest complete pull of each campaign: whether its receipt window has closed and whether
-- it is final (details reconciled with the stats, and the window closed or nothing pending).
-- A final campaign can receive no receipt, so its window counts as closed; pulls recorded before
-- the ledger had window_closed counted a closed window as final.
with source as (
    select * from {{ source('raw', 'campaign_pulls') }}
)

select
    'exotel' as provider,
    channel,
    campaign_id,
    is_final,
    coalesce(window_closed or is_final, is_final) as is_receipt_window_closed,
    pulled_at as last_pulled_at,
    is_reconciled as last_pull_reconciled
from source
qualify row_number() over (partition by campaign_id order by loaded_at desc) = 1
