"""dbt for every pipeline: the one dbt project, its manifest and parse state, the CLI resource, the warm dbt,
the translator that keys and groups models by their folder, and the build that streams a run's events."""
