-- Every SMS status callback, once, with its campaign: named in the callback (seed 000's
-- CampaignSid, on any callback of that message) or, for a delivery report (seed 004 names
-- none), the campaign its message was pulled with.
--
-- Incremental (delete+insert by callback_key): a run adds the callbacks loaded since the last
-- one (new_callbacks), and looks again for the campaign of those still without one that arrived
-- in the last callback_campaign_lookup_days (their message may be pulled, or its campaign
-- callback arrive, later). Until placed, a callback stays out of the facts and the history.
{{ config(materialized='incremental', unique_key='callback_key',
          incremental_strategy='delete+insert', on_schema_change='append_new_columns') }}

with arrived as (
    {{ new_callbacks(ref('stg_callbacks__sms_statuses')) }}
),

candidates as (
    select
        * exclude (campaign_id),
        campaign_id as named_campaign_id
    from arrived
    {% if is_incremental() -%}
        union all by name
        select
            * exclude (campaign_id),
            null::varchar as named_campaign_id
        from {{ this }}
        where
            campaign_id is null
            and received_at > now() - to_days({{ var("callback_campaign_lookup_days") }})
    {%- endif %}
),

named as (
    select
        sms_sid,
        named_campaign_id as campaign_id
    from candidates
    where named_campaign_id is not null
    {% if is_incremental() -%}
        union all
        select
            placed.sms_sid,
            placed.campaign_id
        from {{ this }} as placed
        where
            placed.campaign_id is not null
            and placed.sms_sid in (select candidates.sms_sid from candidates)
    {%- endif %}
),

pulled as (
    select distinct
        sms_sid,
        campaign_id
    from {{ source('raw', 'sms_messages') }}
    where sms_sid in (select candidates.sms_sid from candidates)
),

campaign_of as (
    select
        candidates.sms_sid,
        coalesce(max(named.campaign_id), max(pulled.campaign_id)) as campaign_id
    from (select distinct candidates.sms_sid from candidates) as candidates
    left join named on candidates.sms_sid = named.sms_sid
    left join pulled on candidates.sms_sid = pulled.sms_sid
    group by candidates.sms_sid
)

select
    candidates.* exclude (named_campaign_id),
    coalesce(candidates.named_campaign_id, campaign_of.campaign_id) as campaign_id
from candidates
left join campaign_of on candidates.sms_sid = campaign_of.sms_sid
