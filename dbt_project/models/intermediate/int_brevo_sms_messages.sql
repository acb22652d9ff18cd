-- Brevo's SMS, one row per message at its latest state, in the shape every provider's messages
-- take before int_sms_messages_classified classifies them all alike.
-- A marketing message is a recipient of a campaign (the export names no message id, and a
-- recipient appears once per campaign): keyed campaign_id-number. A transactional message is
-- its messageId, and belongs to the pseudo-campaign of its tag and local day
-- (transactional.<tag>.<date>), so API traffic reads like campaigns.
-- Pulled (export rows, events) and pushed (webhooks) states merge as Exotel's do: the newest
-- time wins whichever way it came (a later stage breaks a tie, then the pull). Replies and
-- unsubscriptions count once seen, whichever way they came; parts and credits come only with
-- webhooks.
{{ config(materialized='view') }}

with campaigns as (
    select * from {{ ref('stg_brevo__sms_campaigns') }}
),

recipients as (
    select
        recipients.campaign_id,
        {{ brevo_message_key('recipients.campaign_id', 'substr(recipients.recipient_number, 2)') }}
            as sms_sid,
        'marketing' as message_type,
        null::varchar as tag,
        recipients.recipient_number,
        recipients.provider_event,
        recipients.status,
        recipients.bounce_type,
        recipients.is_replied,
        recipients.is_unsubscribed,
        campaigns.started_at as submitted_at,
        recipients.status_at,
        recipients.fail_reason,
        recipients.loaded_at
    from {{ ref('stg_brevo__recipients') }} as recipients
    left join campaigns on recipients.campaign_id = campaigns.campaign_id
),

transactional as (
    select
        null::varchar as campaign_id,
        message_id as sms_sid,
        'transactional' as message_type,
        tag,
        recipient_number,
        provider_event,
        status,
        bounce_type,
        false as is_replied,
        false as is_unsubscribed,
        submitted_at,
        status_at,
        fail_reason,
        loaded_at
    from {{ ref('stg_brevo__transactional_messages') }}
),

pulled as (
    select * from recipients
    union all
    select * from transactional
),

-- Each webhook once (Brevo retries one up to 4 times), keyed like the pulled messages.
webhooks as (
    select
        *,
        {{ brevo_message_key(
            "case when message_type = 'marketing' then campaign_id end",
            'number_digits', 'message_id') }} as sms_sid
    from {{ ref('stg_brevo__webhook_events') }}
    qualify row_number() over (partition by callback_key order by loaded_at, line_no) = 1
),

pushed as (
    select
        sms_sid,
        any_value(campaign_id) as campaign_id,
        any_value(message_type) as message_type,
        max(tag) as tag,
        '+' || max(number_digits) as recipient_number,
        arg_max(provider_event, [epoch(status_at), {{ sms_status_rank('status') }}])
            as provider_event,
        arg_max(status, [epoch(status_at), {{ sms_status_rank('status') }}]) as status,
        arg_max(bounce_type, [epoch(status_at), {{ sms_status_rank('status') }}])
            as bounce_type,
        bool_or(is_replied) as is_replied,
        bool_or(is_unsubscribed) as is_unsubscribed,
        min(status_at) as submitted_at,
        min(status_at) filter (where provider_event = 'sent') as sent_at,
        max(status_at) as status_at,
        max(parts) as parts,
        max(credits_used) as credits_used,
        max(loaded_at) as loaded_at
    from webhooks
    group by sms_sid
),

joined as (
    select
        pulled.*,
        pushed.sms_sid as pushed_sid,
        pushed.campaign_id as pushed_campaign_id,
        pushed.message_type as pushed_message_type,
        pushed.tag as pushed_tag,
        pushed.recipient_number as pushed_recipient_number,
        pushed.provider_event as pushed_provider_event,
        pushed.status as pushed_status,
        pushed.bounce_type as pushed_bounce_type,
        pushed.is_replied as pushed_is_replied,
        pushed.is_unsubscribed as pushed_is_unsubscribed,
        pushed.submitted_at as pushed_submitted_at,
        pushed.sent_at as pushed_sent_at,
        pushed.status_at as pushed_status_at,
        pushed.parts,
        pushed.credits_used,
        pushed.loaded_at as pushed_loaded_at,
        pushed.sms_sid is not null and (
            pulled.sms_sid is null
            or pulled.status_at is null
            or pushed.status_at > pulled.status_at
            or (pushed.status_at = pulled.status_at
                and {{ sms_status_rank('pushed.status') }}
                > {{ sms_status_rank('pulled.status') }})
        ) as pushed_wins
    from pulled
    full outer join pushed on pulled.sms_sid = pushed.sms_sid
),

merged as (
    select
        coalesce(sms_sid, pushed_sid) as sms_sid,
        coalesce(campaign_id, pushed_campaign_id) as campaign_id,
        coalesce(message_type, pushed_message_type) as message_type,
        coalesce(tag, pushed_tag) as tag,
        coalesce(recipient_number, pushed_recipient_number) as recipient_number,
        case when pushed_wins then pushed_provider_event else provider_event end
            as provider_event,
        case when pushed_wins then pushed_status else status end as status,
        case when pushed_wins then pushed_bounce_type else bounce_type end as bounce_type,
        coalesce(is_replied, false) or coalesce(pushed_is_replied, false) as is_replied,
        coalesce(is_unsubscribed, false) or coalesce(pushed_is_unsubscribed, false)
            as is_unsubscribed,
        -- a campaign's export gives no message its send time (only the campaign's start): a
        -- webhook's `sent` does, and only then is the delivery latency known
        coalesce(pushed_sent_at, submitted_at, pushed_submitted_at) as submitted_at,
        coalesce(message_type, pushed_message_type) = 'transactional'
        or pushed_sent_at is not null as is_sent_at_known,
        case when pushed_wins then pushed_status_at else status_at end as status_at,
        -- a webhook carries no reason: the pull's stays while it tells the same state
        case
            when not pushed_wins or pushed_status = status then fail_reason
        end as fail_reason,
        parts,
        credits_used,
        case when pushed_wins then 'callback' else 'pull' end as status_source,
        greatest(loaded_at, pushed_loaded_at) as loaded_at
    from joined
),

reasons as (
    select * from {{ ref('brevo_bounce_reasons') }}
),

-- A bounce's reason text named by the first keyword it contains (seed brevo_bounce_reasons).
reason_codes as (
    select
        merged.sms_sid,
        arg_min(reasons.code, reasons.match_order) as code
    from merged
    inner join reasons on contains(lower(merged.fail_reason), reasons.keyword)
    group by merged.sms_sid
)

select
    'brevo' as provider,
    coalesce(
        merged.campaign_id,
        'transactional.'
        || coalesce(
            nullif(left(regexp_replace(lower(merged.tag), '[^a-z0-9]+', '_', 'g'), 60), ''),
            'untagged'
        )
        || '.'
        || coalesce(strftime({{ to_local('merged.submitted_at') }}, '%Y-%m-%d'), 'undated')
    ) as campaign_id,
    merged.sms_sid,
    case merged.message_type when 'marketing' then 'campaign' else 'transactional' end
        as traffic_kind,
    merged.tag,
    merged.recipient_number,
    merged.status,
    merged.submitted_at,
    case when merged.status = 'delivered' then merged.status_at end as delivered_at,
    merged.status_at as updated_at,
    -- a refusal names no reason, nor does a webhook's bounce (the next export gives it): the
    -- event names them (seed dim_error_codes)
    coalesce(
        reason_codes.code,
        case
            when merged.status = 'rejected'
                then 'BREVO_' || upper(coalesce(merged.provider_event, 'rejected'))
            when merged.status = 'failed'
                then 'BREVO_' || upper(coalesce(merged.bounce_type, 'soft')) || '_BOUNCE'
        end
    ) as error_code,
    merged.fail_reason as error_message,
    merged.provider_event as detailed_status,
    null::integer as detailed_status_code,
    merged.parts,
    merged.credits_used::decimal(18, 6) as cost,
    merged.bounce_type as event_bounce_type,
    merged.is_replied,
    merged.is_unsubscribed,
    coalesce(merged.is_sent_at_known, false) as is_sent_at_known,
    merged.status_source,
    merged.loaded_at
from merged
left join reason_codes on merged.sms_sid = reason_codes.sms_sid
