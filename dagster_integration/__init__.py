"""Dagster integration: skipping asset decorator and IO manager."""
