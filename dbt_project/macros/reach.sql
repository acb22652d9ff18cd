{#- Who a campaign reached: the number directory's prefixes and the breakdowns by them. -#}

{#- A number's lookup prefix for stg_audience__number_prefixes: its E.164 digits, as many as its
    country's data needs (raw.number_country_codes; country codes are prefix-free, so one of
    the three lengths matches). `alias` names the joins; use it in a FROM clause:
    `from t {{ number_prefix_joins('t.recipient_number', 'p') }}` then `p.phone_prefix`. -#}
{% macro number_prefix_joins(number, alias) -%}
    {%- for size in [1, 2, 3] %}
    left join {{ source('raw', 'number_country_codes') }} as {{ alias }}_cc{{ size }}
        on {{ alias }}_cc{{ size }}.country_code = left(ltrim({{ number }}, '+'), {{ size }})
    {%- endfor %}
    left join {{ ref('stg_audience__number_prefixes') }} as {{ alias }}
        on {{ alias }}.phone_prefix = left(ltrim({{ number }}, '+'), coalesce(
            {{ alias }}_cc1.prefix_length, {{ alias }}_cc2.prefix_length,
            {{ alias }}_cc3.prefix_length))
{%- endmacro %}

{#- People reached (int_campaign_reach rows in `relation`) counted per provider, channel, campaign and the
    `by` columns, in delivery_rate_trends' terms, with the success rate over submitted, and
    loaded_at, the newest reach row of the campaign (the incremental watermark): the audience
    breakdowns' one shape. -#}
{% macro reach_breakdown(relation, by) -%}
    select
        provider,
        channel,
        campaign_id,
        {{ by | join(', ') }},
        count(*) as volume,
        count(*) filter (where submitted) as submitted,
        count(*) filter (where succeeded) as succeeded,
        count(*) filter (where failed) as failed,
        count(*) filter (where rejected) as rejected,
        {{ safe_divide('count(*) filter (where succeeded)',
                       'count(*) filter (where submitted)') }} as success_rate,
        max(max(loaded_at)) over (partition by provider, campaign_id) as loaded_at
    from {{ relation }}
    group by provider, channel, campaign_id, {{ by | join(', ') }}
{%- endmacro %}

{#- A number's country by its calling code (seed country_calling_codes; codes are
    prefix-free, so at most one of the three joins matches). `alias` names the joins; then
    `{{ alias }}_country` and `{{ alias }}_calling_code` in the select. -#}
{% macro country_joins(number, alias) -%}
    {%- for size in [1, 2, 3] %}
    left join {{ ref('country_calling_codes') }} as {{ alias }}{{ size }}
        on {{ alias }}{{ size }}.calling_code = left(ltrim({{ number }}, '+'), {{ size }})
    {%- endfor %}
{%- endmacro %}

{% macro country_of(alias) -%}
    coalesce(nullif(coalesce({{ alias }}1.country, {{ alias }}2.country, {{ alias }}3.country), ''),
             'unknown')
{%- endmacro %}

{% macro calling_code_of(alias) -%}
    coalesce({{ alias }}1.calling_code, {{ alias }}2.calling_code, {{ alias }}3.calling_code)
{%- endmacro %}
