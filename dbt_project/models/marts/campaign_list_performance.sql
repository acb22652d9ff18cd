-- One row per campaign and contact list or tag (seed 003's metrics by list): who a campaign
-- reached, counted by the lists and tags each person had when it reached them (the contact's
-- version valid then), so re-tagging a contact later never rewrites an old campaign. A person
-- on two lists counts in both; one in no contact file counts under '(not in contacts)'.
with reach as (
    select * from {{ ref('int_campaign_reach') }}
),

versions as (
    select * from {{ ref('stg_audience__contact_versions') }}
),

matched as (
    select
        reach.*,
        versions.lists,
        versions.tags,
        versions.contact_number is not null as is_known
    from reach
    left join versions
        on reach.number = versions.contact_number
        and coalesce(reach.reached_at, 'infinity'::timestamptz) >= versions.valid_from
        and coalesce(reach.reached_at, 'infinity'::timestamptz) < versions.valid_to
),

labelled as (
    select
        matched.*,
        'list' as label_kind,
        unnest(matched.lists) as label
    from matched
    where len(matched.lists) > 0
    union all
    select
        matched.*,
        'tag' as label_kind,
        unnest(matched.tags) as label
    from matched
    where len(matched.tags) > 0
    union all
    select
        matched.*,
        'none' as label_kind,
        '(not in contacts)' as label
    from matched
    where not matched.is_known
),

counted as (
    {{ reach_breakdown('labelled', ['label_kind', 'label']) }}
)

select * from counted
