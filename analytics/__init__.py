"""Analytics: KPIs, attribution, ad spend and dashboards."""
