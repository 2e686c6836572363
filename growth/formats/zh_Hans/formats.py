# Dates as Chinese business software writes them: year, month and day with 年月日 and no
# leading zeros ("2026年3月5日 14:30"), 24-hour times. The templates ask for these by name
# (`|date:"SHORT_DATETIME_FORMAT"`); machine values (<input type=date>, CSV, chart data)
# stay ISO.
DATE_FORMAT = "Y年n月j日"  # 2026年3月5日
SHORT_DATE_FORMAT = "Y年n月j日"  # 2026年3月5日
DATETIME_FORMAT = "Y年n月j日 H:i:s"  # 2026年3月5日 14:30:09
SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年3月5日 14:30
TIME_FORMAT = "H:i"  # 14:30
MONTH_DAY_FORMAT = "n月j日"  # 3月5日
YEAR_MONTH_FORMAT = "Y年n月"  # 2026年3月
FIRST_DAY_OF_WEEK = 1  # 星期一

# Django's zh_Hans formats group digits with no separator ("1234567.00"); Chinese commerce
# back offices write "1,234,567.00". Everything not named here comes from Django's zh_Hans.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
