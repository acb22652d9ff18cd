-- One row per campaign and contact list or tag (seed 003's metrics by list): who a campaign
-- reached, counted by the lists and tags each person had when it reached them (the contact's
-- version valid then), so re-tagging a contact later never rewrites an old campaign. A person
-- on two lists counts in both; one in no contact file counts under '(not in contacts)'.
-- Incremental by campaign, except after a contacts load: a load can change any campaign's
-- counts (a new contact's first version applies back in time), so then every campaign is
-- counted again. contacts_loaded_at records the newest contact version each build saw.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

-- depends_on: {{ ref('int_sms_messages_classified') }}
-- depends_on: {{ ref('int_voice_contacts_summarised') }}
-- (the watermark's relations, named here too: dbt only sees refs it renders at parse time)
{%- set recount_all = contacts_loaded_since(this) %}

with reach as (
    select * from {{ ref('int_campaign_reach') }} as reach
    where {{ 'true' if recount_all else only_changed_campaigns(
        'reach.campaign_id',
        [ref('int_sms_messages_classified'), ref('int_voice_contacts_summarised')]) }}
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
    union all
    -- A provider that sends to lists (Brevo's campaigns name theirs): every recipient of the
    -- campaign under each list id it was sent to.
    select
        matched.*,
        'campaign_list' as label_kind,
        unnest(campaigns.list_ids) as label
    from matched
    inner join {{ ref('int_sms_campaigns') }} as campaigns
        on matched.provider = campaigns.provider and matched.campaign_id = campaigns.campaign_id
    where matched.channel = 'sms' and len(campaigns.list_ids) > 0
),

counted as (
    {{ reach_breakdown('labelled', ['label_kind', 'label']) }}
)

select
    counted.*,
    (
        select max(versions.loaded_at) from versions
    ) as contacts_loaded_at
from counted
