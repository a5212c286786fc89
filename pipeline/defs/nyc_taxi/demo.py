"""NYC taxi's demo data: three month files of generated trips (2020-01 .. 2020-03), and
`python -m pipeline generate nyc_taxi OUT_DIR ...`."""

import datetime as dt
from pathlib import Path

from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months, main
from pipeline.lib.demo import Demo

DEMO_SPEC = TaxiSpec(months=3, trips_per_month=2000)


def prepare(folder: Path, today: dt.date) -> dict[str, str]:
    """The demo's months under folder/nyc_taxi; the lake's variable, and its last month as the last partition (the UI
    shows three months filled, not three among every month since 2020)."""
    root = folder / "nyc_taxi"
    files = generate_months(root, DEMO_SPEC)
    print(f"NYC taxi: {len(files)} month files ({sum(f.data_rows for f in files):,} trips) in {root}")
    last = max(f.month for f in files)
    return {"NYC_TAXI_DATA_URI": str(root), "NYC_TAXI_LAST_MONTH": last.isoformat()}


demo = Demo(prepare=prepare, generate=main)
