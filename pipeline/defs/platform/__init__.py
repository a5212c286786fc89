"""What every pipeline shares: run-failure alerts, and the maintenance job with its schedule."""
