{#- Incremental models: which campaigns a run must re-derive. -#}

{#- Restricts an incremental model to the campaigns it must re-derive: those with rows in
    `upstream` (a relation or a list of them) loaded after the newest row this model holds
    (changed_campaigns_sql; no restriction on a full build).
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
            {{ changed_campaigns_sql(relation, this) }}
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
