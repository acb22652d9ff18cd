{#- The watermark rule, in one place: the campaigns of `upstream` with rows loaded after the
    newest row `target` already holds. Incremental models re-derive these campaigns
    (only_changed_campaigns); publishing refreshes them in yesterday's published copy
    (orchestration/lib/publish.py renders this same file). Plain Jinja, no dbt context: Python
    renders it too. -#}
{% macro changed_campaigns_sql(upstream, target) -%}
    select distinct campaign_id from {{ upstream }}
    where loaded_at > (
        select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ target }}
    )
{%- endmacro %}

{#- Whether contacts were loaded after `target` was last built (its newest
    contacts_loaded_at): then a contacts breakdown counts every campaign again, since a new
    contact's first version applies back in time. True on a full build. -#}
{% macro contacts_loaded_since(target) -%}
    {%- if target is not none and execute and is_incremental() -%}
        {%- set query -%}
            select
                (select coalesce(max(loaded_at), '-infinity'::timestamptz)
                    from {{ source('raw', 'contact_versions') }})
                > (select coalesce(max(contacts_loaded_at), '-infinity'::timestamptz)
                    from {{ target }})
        {%- endset -%}
        {{- return(run_query(query).columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(true) -}}
{%- endmacro %}
