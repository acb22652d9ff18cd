{#- Generic test: every non-null value lies within [min_value, max_value]. -#}
{% test between(model, column_name, min_value=0, max_value=1) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
