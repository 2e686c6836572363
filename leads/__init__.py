"""Leads: contacts, identities, events, orders, consent, scoring, segments and ingestion."""
