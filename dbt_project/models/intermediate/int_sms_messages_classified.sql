-- One row per message of every provider, at its latest status, classified: submitted,
-- delivered, failed, pending, error category and bounce type. Exotel's pulls and callbacks merge
-- here; each other provider's messages arrive merged in the same shape (int_brevo_sms_messages)
-- and are classified by the same rules. Incremental by campaign (dbt_project.yml): a run replaces
-- the rows of the campaigns with raw rows or callbacks loaded since the last build (delete+insert
-- by campaign: at 10M messages, 2.6 s where a MERGE on sms_sid took 6.3 s). The mart
-- fct_sms_messages is a view of this table, so the largest table is stored once.
--
-- Pushed and pulled statuses merge here: per message, the status with the newest provider time
-- wins whichever way it came (a later stage breaks a tie, then the pull), so an older status
-- arriving late never overwrites a newer one. What only the pull knows (cost, parts, the
-- provider's error message) stays from the pull.
{#- The campaigns with new pulled rows or new callbacks, looked up once. -#}
{%- set changed = only_changed_campaigns('campaign_id',
    [source('raw', 'sms_messages'), ref('int_sms_callback_statuses'),
     ref('int_brevo_sms_messages')]) %}

with pulled as (
    select * from {{ ref('stg_exotel__sms_messages') }}
    where {{ changed }}
),

callback_statuses as (
    select * from {{ ref('int_sms_callback_statuses') }}
    where {{ changed }}
),

-- Per message and status, the two callback kinds folded together (seed 004 carries the detailed
-- status, seed 000 the error code and delivery time); then the newest status per message.
latest_callback as (
    select
        sms_sid,
        any_value(campaign_id) as campaign_id,
        status,
        max(status_at) as status_at,
        max(recipient_number) as recipient_number,
        max(detailed_status) as detailed_status,
        max(detailed_status_code) as detailed_status_code,
        max(error_code) as error_code,
        min(submitted_at) as submitted_at,
        max(delivered_at) as delivered_at,
        -- every callback of the message, so a late, losing one still moves the watermark
        max(max(loaded_at)) over (partition by sms_sid) as loaded_at
    from callback_statuses
    group by sms_sid, status
    qualify row_number() over (
        partition by sms_sid order by max(status_at) desc, {{ sms_status_rank('status') }} desc
    ) = 1
),

joined as (
    select
        pulled.sms_sid as pulled_sid,
        pulled.status as pulled_status,
        pulled.updated_at as pulled_updated_at,
        pulled.recipient_number as pulled_recipient_number,
        pulled.submitted_at as pulled_submitted_at,
        pulled.delivered_at as pulled_delivered_at,
        pulled.error_code as pulled_error_code,
        pulled.error_message as pulled_error_message,
        pulled.detailed_status as pulled_detailed_status,
        pulled.detailed_status_code as pulled_detailed_status_code,
        pulled.parts,
        pulled.cost,
        pulled.loaded_at as pulled_loaded_at,
        coalesce(pulled.campaign_id, pushed.campaign_id) as campaign_id,
        coalesce(pulled.sms_sid, pushed.sms_sid) as sms_sid,
        pushed.status as pushed_status,
        pushed.status_at as pushed_status_at,
        pushed.recipient_number as pushed_recipient_number,
        pushed.submitted_at as pushed_submitted_at,
        pushed.delivered_at as pushed_delivered_at,
        pushed.error_code as pushed_error_code,
        pushed.detailed_status as pushed_detailed_status,
        pushed.detailed_status_code as pushed_detailed_status_code,
        pushed.loaded_at as pushed_loaded_at,
        pushed.sms_sid is not null and (
            pulled.sms_sid is null
            or pushed.status_at > pulled.updated_at
            or pulled.updated_at is null
            or (pushed.status_at = pulled.updated_at
                and {{ sms_status_rank('pushed.status') }}
                > {{ sms_status_rank('pulled.status') }})
        ) as pushed_wins
    from pulled
    full outer join latest_callback as pushed on pulled.sms_sid = pushed.sms_sid
),

exotel_messages as (
    select
        'exotel' as provider,
        campaign_id,
        sms_sid,
        'campaign' as traffic_kind,
        null::varchar as tag,
        coalesce(pulled_recipient_number, pushed_recipient_number) as recipient_number,
        case when pushed_wins then pushed_status else pulled_status end as status,
        coalesce(pulled_submitted_at, pushed_submitted_at) as submitted_at,
        case
            when not pushed_wins then pulled_delivered_at
            when pushed_status = 'delivered'
                then coalesce(pushed_delivered_at, pushed_status_at)
        end as delivered_at,
        case when pushed_wins then pushed_status_at else pulled_updated_at end as updated_at,
        case
            when not pushed_wins then pulled_error_code
            else coalesce(pushed_error_code,
                          case when pushed_status = pulled_status then pulled_error_code end)
        end as error_code,
        case
            when not pushed_wins or pushed_status = pulled_status then pulled_error_message
        end as error_message,
        case
            when not pushed_wins then pulled_detailed_status
            else coalesce(pushed_detailed_status,
                          case when pushed_status = pulled_status then pulled_detailed_status end)
        end as detailed_status,
        case
            when not pushed_wins then pulled_detailed_status_code
            else coalesce(pushed_detailed_status_code,
                          case when pushed_status = pulled_status
                              then pulled_detailed_status_code end)
        end as detailed_status_code,
        parts,
        cost,
        null::varchar as event_bounce_type,
        false as is_replied,
        false as is_unsubscribed,
        true as is_sent_at_known,
        case when pushed_wins then 'callback' else 'pull' end as status_source,
        greatest(pulled_loaded_at, pushed_loaded_at) as loaded_at
    from joined
    where campaign_id is not null
),

other_providers as (
    select * from {{ ref('int_brevo_sms_messages') }}
    where {{ changed }}
),

messages as (
    select * from exotel_messages
    union all by name
    select * from other_providers
),

error_codes as (
    select * from {{ ref('dim_error_codes') }}
    where channel = 'sms'
),

-- A failure known only by its detailed status code (a single-message answer or a delivery
-- report carries no error code) is named by seed 004's table of codes.
codes_by_number as (
    select detailed_status_code, min(code) as code
    from error_codes
    where code_type = 'detailed_status' and detailed_status_code is not null
    group by detailed_status_code
),

coded as (
    select messages.* replace (coalesce(messages.error_code, by_number.code) as error_code)
    from messages
    left join codes_by_number as by_number
        on
            messages.error_code is null
            and messages.status in ('failed', 'expired', 'rejected')
            and messages.detailed_status_code = by_number.detailed_status_code
),

classified as (
    select
        messages.*,
        messages.status in ('submitted', 'sent', 'delivered', 'failed', 'expired') as is_submitted,
        messages.status = 'delivered' as is_delivered,
        messages.status in ('failed', 'expired') as is_failed,
        messages.status = 'expired' as is_expired,
        messages.status = 'rejected' as is_rejected,
        messages.status in {{ sms_pending_statuses() }} as is_pending,
        coalesce(by_code.error_category, by_status.error_category) as mapped_category,
        coalesce(by_code.bounce_type, by_status.bounce_type) as mapped_bounce_type,
        coalesce(messages.error_message, by_code.cause, by_status.cause,
                 'Message ' || messages.status) as reason_in_words
    from coded as messages
    left join error_codes as by_code on messages.error_code = by_code.code
    left join error_codes as by_status on messages.detailed_status = by_status.code
)

select
    provider,
    sms_sid,
    campaign_id,
    traffic_kind,
    tag,
    recipient_number,
    coalesce(regexp_full_match(recipient_number, '{{ var("valid_phone_number_pattern") }}'), false)
        as is_valid_number,
    status,
    is_submitted,
    is_delivered,
    is_failed,
    is_expired,
    is_rejected,
    is_pending,
    error_code,
    error_message,
    detailed_status,
    detailed_status_code,
    case
        when mapped_category is not null then mapped_category
        when is_failed or is_rejected or error_code is not null then 'unknown'
    end as error_category,
    -- Seed 003: soft and hard bounces are failures after submission; a message rejected
    -- before submission is neither. A provider that names the bounce (Brevo's events) is
    -- taken at its word; else the code's bounce type.
    case when is_failed then coalesce(event_bounce_type, mapped_bounce_type) end as bounce_type,
    -- Why a message did not arrive, in words: the provider's message, else the code's meaning.
    case when is_failed or is_rejected then reason_in_words end as fail_reason,
    parts,
    cost,
    submitted_at,
    delivered_at,
    {{ to_local('submitted_at') }} as submitted_at_local,
    -- only where the message's own send time is known (not a campaign's start)
    case
        when is_delivered and is_sent_at_known
            then date_diff('second', submitted_at, delivered_at)
    end as delivery_latency_seconds,
    coalesce(updated_at, delivered_at, submitted_at) as last_status_at,
    is_replied,
    is_unsubscribed,
    status_source,
    loaded_at
from classified
