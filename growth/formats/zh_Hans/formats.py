# Django's zh_Hans formats group digits with no separator ("1234567.00"); Chinese commerce
# back offices write "1,234,567.00". Everything not named here comes from Django's zh_Hans.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
