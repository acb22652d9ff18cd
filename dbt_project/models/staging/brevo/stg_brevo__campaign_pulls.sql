-- The latest pull of each Brevo campaign (raw.brevo_campaign_pulls, one row per pull, complete
-- or not): whether its export was final (taken after the 72-hour retry window closed) and when
-- it was last pulled.
with source as (
    select * from {{ source('raw', 'brevo_campaign_pulls') }}
),

ranked as (
    select
        *,
        row_number() over (partition by campaign_id order by pulled_at desc) as pull_rank,
        bool_or(is_final and outcome = 'complete') over (partition by campaign_id) as ever_final
    from source
)

select
    'brevo' as provider,
    'sms' as channel,
    campaign_id,
    coalesce(ever_final, false) as is_final,
    coalesce(ever_final, false) as is_receipt_window_closed,
    pulled_at as last_pulled_at,
    outcome as last_pull_outcome
from ranked
where pull_rank = 1
