{{ config(materialized='view') }}
-- Every call status callback with its campaign: its CampaignSid where the provider sends one,
-- else the campaign its attempt was pulled with (seed 001's payload names none).
with callbacks as (
    select * from {{ ref('stg_callbacks__call_statuses') }}
),

pulled as (
    select distinct
        call_sid,
        campaign_id
    from {{ source('raw', 'call_attempts') }}
    where call_sid in (select callbacks.call_sid from callbacks)
)

select
    callbacks.* exclude (campaign_id),
    coalesce(callbacks.campaign_id, pulled.campaign_id) as campaign_id
from callbacks
left join pulled on callbacks.call_sid = pulled.call_sid
