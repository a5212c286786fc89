"""Sparkify: daily JSON activity logs and song files staged into a warehouse and modelled by dbt into a star schema."""

GROUP = "sparkify"  # the pipeline's asset group: its folder's name, as every pipeline's
