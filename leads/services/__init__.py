"""Writes of leads, one module per subject."""
