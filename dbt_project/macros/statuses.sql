{#- Status lists from dbt_project.yml's vars, for `in` clauses, and their order. -#}

{#- The statuses of a message still waiting on its outcome (var sms_pending_statuses), as a SQL
    list. -#}
{% macro sms_pending_statuses() -%}
    ('{{ var("sms_pending_statuses") | join("', '") }}')
{%- endmacro %}

{#- The campaign statuses after which a campaign sends no more (var terminal_campaign_statuses),
    as a SQL list: `status in {{ terminal_campaign_statuses() }}`. -#}
{% macro terminal_campaign_statuses() -%}
    ({%- for status in var("terminal_campaign_statuses") -%}
        '{{ status }}'{{ ", " if not loop.last }}
    {%- endfor -%})
{%- endmacro %}

{#- How far along an SMS status is: a later stage wins a tie of status times. -#}
{% macro sms_status_rank(status) -%}
    case {{ status }}
        when 'queued' then 0 when 'sending' then 1 when 'submitted' then 2 when 'sent' then 3
        else 4
    end
{%- endmacro %}
