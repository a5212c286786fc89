"""Maintenance: the weekly housekeeping of the platform's own leftovers (old runs and their event logs, old
compute-log files, temporary tables an interrupted run left in the warehouse), and the instance's tick retention."""
