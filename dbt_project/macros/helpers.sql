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

{#- Restricts an incremental model to the campaigns it must re-derive: those with rows in
    `upstream` (a relation or a list of them) loaded after the newest row this model holds (no
    restriction on a full build).
    The campaigns are looked up first and written into the SQL as a constant list: DuckDB
    pushes a constant list below the staging views' dedupe window, where a subquery would make
    every run re-window all of history (measured at 10M messages: 1.6 s against 7.6 s). -#}
{% macro only_changed_campaigns(column, upstream) -%}
    {#- Unit tests render with no `this`: they run the full-build form. -#}
    {%- if this is not none and execute and is_incremental() -%}
        {%- set upstreams = upstream if upstream is sequence and upstream is not string
                            else [upstream] -%}
        {%- set query -%}
            {%- for relation in upstreams %}
            select distinct campaign_id from {{ relation }}
            where loaded_at > (
                select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }}
            )
            {{ "union" if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- set campaign_ids = run_query(query).columns[0].values() -%}
        {{ column }} in (
        {%- for campaign_id in campaign_ids -%}
            '{{ campaign_id | replace("'", "''") }}'{{ ", " if not loop.last }}
        {%- else -%}
            null
        {%- endfor -%}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
