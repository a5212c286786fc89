"""The hourly API pipeline: top cities' current weather and the latest cocktails, from rate-limited HTTP APIs
to the lake, then the warehouse, then dbt."""
