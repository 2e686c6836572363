"""Tables of leads: contacts, identities, events, orders, consent, scoring, segments and ingestion (added by the issue that builds them)."""
