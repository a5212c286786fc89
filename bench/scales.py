"""The benchmark's scales: how much data each figure is measured on."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    history_days: int  # the long history of figures 2 and 3
    short_history_days: int  # the short one of figure 2
    events_per_day: int
    song_files: int  # in the lake of the end-to-end runs
    backfill_days: int  # figure 4
    s3_song_files: int  # figure 5, on loopback
    s3_latency_song_files: int  # figure 5 again, each request answered late as S3's are (the loop pays it per file)
    sensor_objects: tuple[int, int]  # figure 6: objects in the bucket, small and big
    throughput_events: int  # figure 1: events in the one day file loaded
    big_day_bytes: int  # figure 7: size of the one day file staged
    repeats: int  # rounds of the short measurements; the median is reported
    weather_cities: int  # figure 10: cities fetched in one hour
    weather_rate: float  # figure 10: requests per second the demo API allows
    weather_history_hours: int  # figure 11: hours loaded before the new hour (against 24)
    taxi_trips: int  # figures 12 and 13: trips in the one month staged
    taxi_history_months: int  # figure 14: months loaded before the new month (against 2)
    taxi_history_trips: int  # figure 14: trips in each month


SCALES = {
    # Under 2 minutes on 2 cores for figures 1-14, on little data (ratios are not expected to meet the targets);
    # 15-17 are whole processes that each load the definitions, about 4 minutes at any scale today.
    "small": Scale(
        "small",
        history_days=10,
        short_history_days=3,
        events_per_day=300,
        song_files=300,
        backfill_days=2,
        s3_song_files=500,
        s3_latency_song_files=100,
        sensor_objects=(1_000, 10_000),
        throughput_events=50_000,
        big_day_bytes=50_000_000,
        repeats=1,
        weather_cities=50,
        weather_rate=25.0,
        weather_history_hours=48,
        taxi_trips=50_000,
        taxi_history_months=6,
        taxi_history_trips=500,
    ),
    # Tens of millions of bytes of logs (180 days, ~80 MB): the scale of the README's table.
    "medium": Scale(
        "medium",
        history_days=180,
        short_history_days=7,
        events_per_day=1_000,
        song_files=5_000,
        backfill_days=30,
        s3_song_files=15_000,
        s3_latency_song_files=2_000,
        sensor_objects=(1_000, 100_000),
        throughput_events=1_000_000,
        big_day_bytes=1_000_000_000,
        repeats=3,
        weather_cities=200,
        weather_rate=10.0,
        weather_history_hours=720,
        taxi_trips=1_000_000,
        taxi_history_months=24,
        taxi_history_trips=20_000,
    ),
    # A year of days and the real catalogue's 15k+ song files.
    "large": Scale(
        "large",
        history_days=365,
        short_history_days=7,
        events_per_day=3_000,
        song_files=15_000,
        backfill_days=30,
        s3_song_files=15_000,
        s3_latency_song_files=5_000,
        sensor_objects=(1_000, 100_000),
        throughput_events=2_000_000,
        big_day_bytes=1_000_000_000,
        repeats=3,
        weather_cities=200,
        weather_rate=5.0,
        weather_history_hours=720,
        taxi_trips=2_000_000,
        taxi_history_months=24,
        taxi_history_trips=50_000,
    ),
}
