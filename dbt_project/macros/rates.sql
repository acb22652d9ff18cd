{#- Rates and the health verdict. -#}

{#- A rate as a fraction in [0, 1]; NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    case when coalesce({{ denominator }}, 0) = 0 then null
         else ({{ numerator }})::double / ({{ denominator }}) end
{%- endmacro %}

{#- health_status and health_reasons per campaign, from the seed health_thresholds:
    `investigate` when an investigate threshold fires for one of `metrics`, else `watch` when a
    watch one fires, else `healthy`; `no data` where `has_data` is false. The reasons are the
    fired thresholds of that level, one per metric, in the seed's order, worded as the reports
    word them ("rejection 8.5% is at or above 5%"). `rates` is a relation or CTE with
    provider, campaign_id and the metric columns. The reports judge with the same seed. -#}
{% macro health_status(rates, channel, metrics, has_data) -%}
    with measured as (
        unpivot (select provider, campaign_id, {{ metrics | join(', ') }} from {{ rates }})
        on {{ metrics | join(', ') }}
        into name metric value metric_value
    ),

    fired as (
        select
            measured.provider,
            measured.campaign_id,
            thresholds.level,
            thresholds.metric,
            thresholds.check_order,
            thresholds.short_label || ' ' || printf('%.1f', measured.metric_value * 100)
            || '% is '
            || case when thresholds.comparison = 'below' then 'below' else 'at or above' end
            || ' ' || printf('%g', thresholds.threshold * 100) || '%' as reason
        from measured
        inner join {{ ref('health_thresholds') }} as thresholds
            on thresholds.channel = '{{ channel }}'
            and thresholds.in_verdict
            and thresholds.metric = measured.metric
            and (
                (thresholds.comparison = 'below' and measured.metric_value < thresholds.threshold)
                or (thresholds.comparison = 'at_or_above'
                    and measured.metric_value >= thresholds.threshold)
            )
    ),

    levels as (
        select
            provider,
            campaign_id,
            case when bool_or(level = 'investigate') then 'investigate' else 'watch' end as level
        from fired
        group by provider, campaign_id
    ),

    reasons as (
        select
            fired.provider,
            fired.campaign_id,
            string_agg(fired.reason, ', ' order by fired.check_order) as health_reasons
        from fired
        inner join levels
            on fired.provider = levels.provider
            and fired.campaign_id = levels.campaign_id
            and fired.level = levels.level
        where fired.check_order = (
            select min(same_metric.check_order) from fired as same_metric
            where same_metric.provider = fired.provider
                and same_metric.campaign_id = fired.campaign_id
                and same_metric.metric = fired.metric and same_metric.level = fired.level
        )
        group by fired.provider, fired.campaign_id
    )

    select
        {{ rates }}.provider,
        {{ rates }}.campaign_id,
        case
            when not ({{ has_data }}) then 'no data'
            else coalesce(levels.level, 'healthy')
        end as health_status,
        case when {{ has_data }} then reasons.health_reasons end as health_reasons
    from {{ rates }}
    left join levels
        on {{ rates }}.provider = levels.provider and {{ rates }}.campaign_id = levels.campaign_id
    left join reasons
        on {{ rates }}.provider = reasons.provider
        and {{ rates }}.campaign_id = reasons.campaign_id
{%- endmacro %}
