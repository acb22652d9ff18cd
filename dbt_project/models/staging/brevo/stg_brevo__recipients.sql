-- Each recipient of each Brevo campaign in its latest export (the `all` file gives each
-- recipient's current state), its event mapped by the seed brevo_events; an event the contract
-- does not name is kept with status 'unknown'.
with source as (
    select * from {{ source('raw', 'brevo_recipients') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by campaign_id, sms order by process_id desc, event_at desc
        ) as export_rank
    from source
),

events as (
    select * from {{ ref('brevo_events') }}
)

select
    'brevo' as provider,
    latest.campaign_id,
    '+' || latest.sms as recipient_number,
    latest.event as provider_event,
    coalesce(events.status, 'unknown') as status,
    events.bounce_type,
    coalesce(events.is_replied, false) as is_replied,
    coalesce(events.is_unsubscribed, false) as is_unsubscribed,
    latest.event_at as status_at,
    nullif(latest.reason, '') as fail_reason,
    latest.loaded_at
from latest
left join events on lower(latest.event) = events.event
where latest.export_rank = 1
