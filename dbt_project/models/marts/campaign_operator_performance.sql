-- One row per campaign and the original operator and region of its recipients' numbers (seed
-- 002's breakdown by platform): phonenumbers' carrier and geocoder data, by number prefix.
-- "Original": a number ported to another operator still counts under the one its range was
-- allocated to. Numbers the data does not place count under 'unknown'.
with reach as (
    select * from {{ ref('int_campaign_reach') }}
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
