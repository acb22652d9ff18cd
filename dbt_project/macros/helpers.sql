{#- A rate as a fraction in [0, 1]; NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    case when coalesce({{ denominator }}, 0) = 0 then null
         else ({{ numerator }})::double / ({{ denominator }}) end
{%- endmacro %}

{#- The account's time zone (ACCOUNT_TIMEZONE) for local dates and hours. -#}
{% macro account_timezone() -%}
    '{{ env_var("ACCOUNT_TIMEZONE", "Asia/Kolkata") }}'
{%- endmacro %}

{#- A TIMESTAMPTZ as wall-clock time in the account's zone. -#}
{% macro to_local(column) -%}
    timezone({{ account_timezone() }}, {{ column }})
{%- endmacro %}

{#- Hours after a campaign ends before it is final (DLR_FINALIZATION_HOURS). -#}
{% macro dlr_finalization_hours() -%}
    {{ env_var("DLR_FINALIZATION_HOURS", "72") }}
{%- endmacro %}

{#- The campaigns an incremental fact must re-derive: those with raw rows loaded since the
    fact's newest row (every campaign on a full build). -#}
{% macro campaigns_with_new_raw_rows(raw_relation) -%}
    select distinct campaign_id
    from {{ raw_relation }}
    {% if is_incremental() %}
    where loaded_at > (select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }})
    {% endif %}
{%- endmacro %}
