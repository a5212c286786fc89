"""NYC taxi's demo data: three month files of generated trips (2020-01 .. 2020-03), and
`python -m pipeline generate nyc_taxi OUT_DIR ...`."""

import datetime as dt
from pathlib import Path

from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months, main
from pipeline.lib.demo import Demo

DEMO_SPEC = TaxiSpec(months=3, trips_per_month=2000)


def prepare(folder: Path, today: dt.date) -> dict[str, str]:
    """The demo's months under folder/nyc_taxi; the lake's variable."""
    root = folder / "nyc_taxi"
    files = generate_months(root, DEMO_SPEC)
    print(f"NYC taxi: {len(files)} month files ({sum(f.data_rows for f in files):,} trips) in {root}")
    return {"NYC_TAXI_DATA_URI": str(root)}


demo = Demo(prepare=prepare, generate=main)
