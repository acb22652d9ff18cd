-- One row per campaign and the original operator and region of its recipients' numbers (seed
-- 002's breakdown by platform): phonenumbers' carrier and geocoder data, by number prefix.
-- "Original": a number ported to another operator still counts under the one its range was
-- allocated to. Numbers the data does not place count under 'unknown'.
-- Incremental by campaign: a number's prefix is looked up (raw/number_prefixes) before its
-- campaign is first built, and a prefix's answer never changes, so only campaigns with new
-- reach rows need counting again.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

with reach as (
    select * from {{ ref('int_campaign_reach') }} as reach
    where {{ only_changed_campaigns('reach.campaign_id',
                                    [ref('int_sms_messages_classified'),
                                     ref('int_voice_contacts_summarised')]) }}
),

placed as (
    select
        reach.*,
        coalesce(prefixes.original_operator, 'unknown') as original_operator,
        coalesce(prefixes.region, 'unknown') as region
    from reach
    {{ number_prefix_joins('reach.number', 'prefixes') }}
),

counted as (
    {{ reach_breakdown('placed', ['original_operator', 'region']) }}
)

select * from counted
