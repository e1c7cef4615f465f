"""Schedules: the operators' daily digest and the sweep of documents stuck in a status."""
