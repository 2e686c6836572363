"""Cadences: sales cadences, enrollments, the rep queue and the SLA."""
