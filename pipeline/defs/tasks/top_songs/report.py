"""The ten most played songs, from Sparkify's songplays and songs in the DuckDB warehouse (DUCKDB_PATH), written as
OUTPUT_URI/top_songs.csv; the songs reported to Dagster through dagster-pipes."""

import csv
import os
from pathlib import Path

import duckdb
from dagster_pipes import open_dagster_pipes

QUERY = """
select s.title, count(*) as plays
from {schema}.songplays as p join {schema}.songs as s on s.song_id = p.song_id
group by s.title order by plays desc, s.title limit 10
"""

with open_dagster_pipes() as pipes:
    schema = os.environ["ANALYTICS_SCHEMA"]
    with duckdb.connect(os.environ["DUCKDB_PATH"], read_only=True) as connection:
        rows = connection.execute(QUERY.format(schema=schema)).fetchall()
    out = Path(os.environ["OUTPUT_URI"]) / "top_songs.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["title", "plays"])
        writer.writerows(rows)
    pipes.log.info(f"{len(rows)} songs -> {out}")
    pipes.report_asset_materialization(metadata={"songs": len(rows), "report": str(out)})
