"""What every pipeline shares: the dbt resource, run-failure alerts, and the maintenance job with its schedule."""
