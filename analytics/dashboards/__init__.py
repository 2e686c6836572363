"""The dashboards' parts; the pages, their URLs and the CSV download are in
`analytics.views_dashboards`.

Selector results turned into what the dashboards show: plotly figures, tables and CSV rows.

- `filters`: the filter bar and what it offers
- `parts`: cards, charts, links and empty states every page uses
- `manager`, `marketing`, `sales`: each page's reads, cards and charts
- `format`, `tables`, `plotting`: numbers for people, tables and CSV, the figures' look
- `figures_manager`, `figures_marketing`, `figures_sales`: each page's figures
- `exports`: the CSV behind each chart
"""
