{#- The account's time zone and the provider's timestamps. -#}

{#- The account's time zone (ACCOUNT_TIMEZONE, passed with --vars) for local dates and hours. -#}
{% macro account_timezone() -%}
    '{{ var("account_timezone") }}'
{%- endmacro %}

{#- A TIMESTAMPTZ as wall-clock time in the account's zone. -#}
{% macro to_local(column) -%}
    timezone({{ account_timezone() }}, {{ column }})
{%- endmacro %}

{#- A callback's time as an instant: with an offset as given; without one (seed 004's table
    shows "2025-01-15 10:30:00") in the account's zone. NULL when blank or not a time (the
    receiver refuses those, so NULL here means absent). -#}
{% macro callback_time(text) -%}
    case
        when nullif(trim({{ text }}), '') is null then null
        when regexp_matches({{ text }}, '(Z|[+-][0-9]{2}:?[0-9]{2})$')
            then try_cast({{ text }} as timestamptz)
        else timezone({{ account_timezone() }}, try_cast({{ text }} as timestamp))
    end
{%- endmacro %}
