"""Maintenance: weekly housekeeping of the instance (runs, compute logs) and the warehouse (leftover tables)."""
