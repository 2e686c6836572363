# Growth's English dates keep the ISO look the app has always had ("2026-03-05 14:30"): one
# order for every reader, sortable by eye. The templates ask for these by name
# (`|date:"SHORT_DATETIME_FORMAT"`), so each language writes dates its own way; machine
# values (<input type=date>, data attributes, CSV, chart data) stay ISO and never use them.
# Everything not named here comes from Django's en.
DATE_FORMAT = "Y-m-d"  # 2026-03-05
SHORT_DATE_FORMAT = "Y-m-d"  # 2026-03-05
DATETIME_FORMAT = "Y-m-d H:i:s"  # 2026-03-05 14:30:09 (logs, deliveries: to the second)
SHORT_DATETIME_FORMAT = "Y-m-d H:i"  # 2026-03-05 14:30
TIME_FORMAT = "H:i"  # 14:30
MONTH_DAY_FORMAT = "m-d"  # 03-05
YEAR_MONTH_FORMAT = "Y-m"  # 2026-03
