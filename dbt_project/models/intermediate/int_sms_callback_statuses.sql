{{ config(materialized='view') }}
-- Every SMS status callback with its campaign: named in the callback (seed 000's CampaignSid,
-- on any callback of that message) or, for a delivery report (seed 004 carries none), the
-- campaign its message was pulled with. A callback whose message is in neither stays out of the
-- facts until one of them arrives (it is in sms_status_history meanwhile). A view: the
-- watermark (only_changed_campaigns) reads its newest rows, the merge reads a campaign's.
with callbacks as (
    select * from {{ ref('stg_callbacks__sms_statuses') }}
),

named as (
    select
        sms_sid,
        max(campaign_id) as campaign_id
    from callbacks
    where campaign_id is not null
    group by sms_sid
),

pulled as (
    select distinct
        sms_sid,
        campaign_id
    from {{ source('raw', 'sms_messages') }}
    where sms_sid in (select callbacks.sms_sid from callbacks)
)

select
    callbacks.* exclude (campaign_id),
    coalesce(named.campaign_id, pulled.campaign_id) as campaign_id
from callbacks
left join named on callbacks.sms_sid = named.sms_sid
left join pulled on callbacks.sms_sid = pulled.sms_sid
