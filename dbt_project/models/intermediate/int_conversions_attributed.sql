{{ config(materialized='table') }}

-- One row per conversion, credited to the latest campaign that reached the person (an SMS
-- delivered, a call connected) within attribution_window_days before it (seed 001: "revenue
-- attributed to campaign contacts"). A conversion by external id reaches the person through
-- every number their contact had at the time. One the window finds no campaign for stays,
-- unattributed.
with conversions as (
    select * from {{ ref('stg_audience__conversions') }}
),

versions as (
    select * from {{ ref('stg_audience__contact_versions') }}
),

reach as (
    select * from {{ ref('int_campaign_reach') }}
    where succeeded
),

people as (
    select conversion_key, contact_number as number
    from conversions
    where contact_number is not null
    union
    select conversions.conversion_key, versions.contact_number as number
    from conversions
    inner join versions
        on conversions.external_id = versions.external_id
        and conversions.occurred_at >= versions.valid_from
        and conversions.occurred_at < versions.valid_to
    where conversions.contact_number is null
),

credited as (
    select
        people.conversion_key,
        -- one row's provider, channel and campaign together (never a mix of tied rows)
        arg_max(
            struct_pack(
                provider := reach.provider, channel := reach.channel,
                campaign_id := reach.campaign_id
            ),
            reach.reached_at
        ) as campaign,
        max(reach.reached_at) as reached_at
    from people
    inner join conversions on people.conversion_key = conversions.conversion_key
    inner join reach
        on people.number = reach.number
        and conversions.occurred_at >= reach.reached_at
        and conversions.occurred_at - to_days({{ var('attribution_window_days') }})
        < reach.reached_at
    group by people.conversion_key
)

select
    conversions.conversion_key,
    conversions.contact_number,
    conversions.external_id,
    conversions.amount,
    conversions.currency,
    conversions.occurred_at,
    credited.campaign.provider,
    credited.campaign.channel,
    credited.campaign.campaign_id,
    credited.reached_at,
    credited.campaign.campaign_id is not null as is_attributed
from conversions
left join credited on conversions.conversion_key = credited.conversion_key
