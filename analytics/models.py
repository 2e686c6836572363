"""Tables of analytics: KPIs, attribution, ad spend and dashboards (added by the issue that builds them)."""
