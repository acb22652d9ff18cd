{#- Brevo's message key, in one place. A marketing message is a campaign's recipient (the
    export names no message id, and a recipient appears once per campaign):
    `<campaign>-<number digits>`; a transactional one is its messageId. A marketing webhook
    that names no campaign stays keyed by its message id. -#}
{% macro brevo_message_key(campaign_id, number_digits, message_id='null') -%}
    coalesce({{ campaign_id }} || '-' || {{ number_digits }}, {{ message_id }})
{%- endmacro %}
