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
