"""Sparkify: daily JSON activity logs and song files staged into a warehouse and modelled by dbt into a star schema."""
