-- Every call status callback, once, with its campaign: its CampaignSid where the provider sends
-- one, else the campaign its attempt was pulled with (seed 001's payload names none).
-- Incremental like int_sms_callback_statuses.
{{ config(materialized='incremental', unique_key='callback_key',
          incremental_strategy='delete+insert', on_schema_change='append_new_columns') }}

with arrived as (
    {{ new_callbacks(ref('stg_callbacks__call_statuses')) }}
),

candidates as (
    select * from arrived
    {% if is_incremental() -%}
        union all by name
        select * from {{ this }}
        where
            campaign_id is null
            and received_at > now() - to_days({{ var("callback_campaign_lookup_days") }})
    {%- endif %}
),

pulled as (
    select distinct
        call_sid,
        campaign_id
    from {{ source('raw', 'call_attempts') }}
    where call_sid in (select candidates.call_sid from candidates)
)

select
    candidates.* exclude (campaign_id),
    coalesce(candidates.campaign_id, pulled.campaign_id) as campaign_id
from candidates
left join pulled on candidates.call_sid = pulled.call_sid
