"""NYC green-taxi trips: a month's TLC CSV in the lake -> typed parquet -> fare by pickup zone -> the warehouse,
with a calendar dimension and an analytics model in dbt (the MWAA analytics platform and snowflake-on-ecs)."""
