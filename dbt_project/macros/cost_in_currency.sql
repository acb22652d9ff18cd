{#- A cost in provider units (SMS credits, voice pulses) in REVENUE_CURRENCY, at the price the
    var `price_var` sets (SMS_CREDIT_PRICE, VOICE_PULSE_PRICE); NULL while no price is set, so a
    revenue is never divided by a count of credits. -#}
{% macro cost_in_currency(cost, price_var) -%}
    {%- set price = var(price_var, none) -%}
    {%- if price is none -%}
        cast(null as decimal(18, 4))
    {%- else -%}
        cast({{ cost }} * {{ price | float }} as decimal(18, 4))
    {%- endif -%}
{%- endmacro %}
