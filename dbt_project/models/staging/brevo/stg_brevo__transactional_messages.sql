-- One row per Brevo transactional message: its latest event by time is its state (a soft
-- bounce Brevo retried and then delivered is delivered), mapped by the seed brevo_events; the
-- time it was sent and its tag, so API traffic can be grouped like campaigns.
with source as (
    select * from {{ source('raw', 'brevo_transactional_events') }}
),

events as (
    select * from {{ ref('brevo_events') }}
),

mapped as (
    select
        source.*,
        events.status,
        events.bounce_type,
        -- Among events at the same second, the one that says more wins (delivered after sent).
        case events.status when 'submitted' then 0 else 1 end as status_weight
    from source
    left join events on lower(source.event) = events.event
),

ranked as (
    select
        *,
        row_number() over (
            partition by message_id order by event_at desc, status_weight desc, event desc
        ) as event_rank,
        min(event_at) over (partition by message_id) as first_event_at,
        max(phone_number) over (partition by message_id) as any_number,
        max(tag) over (partition by message_id) as any_tag,
        max(loaded_at) over (partition by message_id) as last_loaded_at
    from mapped
)

select
    'brevo' as provider,
    message_id,
    '+' || any_number as recipient_number,
    any_tag as tag,
    event as provider_event,
    coalesce(status, 'unknown') as status,
    bounce_type,
    nullif(reason, '') as fail_reason,
    first_event_at as submitted_at,
    event_at as status_at,
    last_loaded_at as loaded_at
from ranked
where event_rank = 1
