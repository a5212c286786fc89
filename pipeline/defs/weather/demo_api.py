"""A local stand-in for the weather pipeline's three APIs, for the demo and the tests (no key, no internet).

It serves the documented formats: a JSON list of city names (the original's API Gateway), weatherapi.com's
`current.json?q=<city>` and TheCocktailDB's `latest.php` (`{"drinks": [...]}`), with realistic values drawn
from a seed and the current UTC hour. Like a paid plan each API allows `rate` requests per second (a token bucket) and
answers 429 with `Retry-After` beyond that. Tests inject faults through `POST /_faults` (a status, a slow answer,
malformed JSON, a 200 carrying an error object, a redirect, a body trickled a byte at a time, the body's bytes
edited) and read what was asked at `GET /_requests`.

Run it alone: `python -m pipeline.defs.weather.demo_api --port 8765 [--rate 5] [--cities 200]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CITIES = {  # name -> (region, country, lat, lon, tz_id, utc offset hours, mean temperature °C)
    "Tokyo": ("Tokyo", "Japan", 35.69, 139.69, "Asia/Tokyo", 9, 16.0),
    "São Paulo": ("Sao Paulo", "Brazil", -23.53, -46.62, "America/Sao_Paulo", -3, 21.0),
    "New York": ("New York", "United States of America", 40.71, -74.01, "America/New_York", -5, 12.0),
    "Zürich": ("Zurich", "Switzerland", 47.37, 8.55, "Europe/Zurich", 1, 9.0),
    "Mexico City": ("Distrito Federal", "Mexico", 19.43, -99.13, "America/Mexico_City", -6, 17.0),
}
CONDITIONS = [
    (1000, "Sunny", "Clear"),
    (1003, "Partly cloudy", None),
    (1006, "Cloudy", None),
    (1063, "Patchy rain possible", None),
    (1183, "Light rain", None),
]
COMPASS = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"]
DRINKS = [
    (
        "Negroni",
        "Ordinary Drink",
        "Alcoholic",
        "Old-fashioned glass",
        [("Gin", "1 oz"), ("Campari", "1 oz"), ("Sweet Vermouth", "1 oz")],
    ),
    (
        "Mojito",
        "Cocktail",
        "Alcoholic",
        "Highball glass",
        [("Light rum", "2-3 oz"), ("Lime", "Juice of 1"), ("Sugar", "2 tsp"), ("Mint", "2-4"), ("Soda water", None)],
    ),
    (
        "Piña Colada",
        "Ordinary Drink",
        "Alcoholic",
        "Collins glass",
        [("Light rum", "3 oz"), ("Coconut milk", "3 tblsp"), ("Pineapple", "3 tblsp")],
    ),
    (
        "Shirley Temple",
        "Soft Drink",
        "Non alcoholic",
        "Highball glass",
        [("Ginger ale", "4 oz"), ("Grenadine", "1 dash"), ("Maraschino cherry", "1")],
    ),
    (
        "Mai Tai",
        "Ordinary Drink",
        "Alcoholic",
        "Collins glass",
        [
            ("Light rum", "1 oz"),
            ("Orgeat syrup", "1/2 oz"),
            ("Triple sec", "1/2 oz"),
            ("Sweet and sour", "1 1/2 oz"),
            ("Cherry", "1"),
        ],
    ),
    (
        "Café Frappé",
        "Coffee / Tea",
        "Non alcoholic",
        "Highball glass",
        [("Instant coffee", "2 tsp"), ("Sugar", "2 tsp"), ("Water", "1/2 cup"), ("Milk", "To taste")],
    ),
]


def top_cities(count: int, seed: int = 42) -> dict[str, tuple]:
    """The first `count` cities the API ranks: the five real ones, then generated towns (for a benchmark's 200)."""
    cities = dict(list(CITIES.items())[:count])
    rng = random.Random(f"{seed}/towns")
    for n in range(len(cities) + 1, count + 1):
        offset = rng.randint(-10, 12)
        cities[f"Town {n:03d}"] = (
            f"Region {n % 17}",
            rng.choice(["Japan", "Brazil", "United States of America", "Switzerland", "Mexico"]),
            round(rng.uniform(-60, 70), 2),
            round(rng.uniform(-180, 180), 2),
            f"Etc/GMT{-offset:+d}",
            offset,
            round(rng.uniform(-5, 28), 1),
        )
    return cities


def hour_answers(hour: dt.datetime, cities: dict[str, tuple] = CITIES, seed: int = 42) -> tuple[list, dict, dict]:
    """What the three APIs answer during `hour`: the city list, each city's weather, the latest drinks."""
    return list(cities), {city: _weather(city, cities[city], hour, seed) for city in cities}, _drinks(hour, seed)


def _weather(city: str, record: tuple, hour: dt.datetime, seed: int) -> dict:
    region, country, lat, lon, tz_id, offset, mean = record
    rng = random.Random(f"{seed}/{city}/{hour:%Y%m%d%H}")
    local = hour + dt.timedelta(hours=offset, minutes=rng.randrange(60))
    temp_c = round(mean + 8 * rng.uniform(-1, 1), 1)
    wind_kph = round(rng.uniform(0, 40), 1)
    gust_kph = round(wind_kph * rng.uniform(1.1, 1.6), 1)
    code, text, night_text = rng.choice(CONDITIONS)
    is_day = 1 if 6 <= local.hour < 18 else 0
    feels = round(temp_c - wind_kph / 10, 1)
    vis_km = float(rng.choice([10, 10, 9, 6, 2]))
    pressure_mb = float(rng.randint(995, 1035))
    updated = hour + dt.timedelta(minutes=rng.choice([0, 15, 30, 45]))
    return {
        "location": {
            "name": city,
            "region": region,
            "country": country,
            "lat": lat,
            "lon": lon,
            "tz_id": tz_id,
            "localtime_epoch": int(local.timestamp()) - offset * 3600,
            "localtime": f"{local:%Y-%m-%d} {local.hour}:{local:%M}",  # weatherapi writes the hour unpadded
        },
        "current": {
            "last_updated_epoch": int(updated.timestamp()),
            "last_updated": f"{updated:%Y-%m-%d %H:%M}",
            "temp_c": temp_c,
            "temp_f": round(temp_c * 9 / 5 + 32, 1),
            "is_day": is_day,
            "condition": {
                "text": night_text if (night_text and not is_day) else text,
                "icon": f"//cdn.weatherapi.com/weather/64x64/{'day' if is_day else 'night'}/{code - 887}.png",
                "code": code,
            },
            "wind_mph": round(wind_kph / 1.609, 1),
            "wind_kph": wind_kph,
            "wind_degree": rng.randrange(360),
            "wind_dir": rng.choice(COMPASS),
            "pressure_mb": pressure_mb,
            "pressure_in": round(pressure_mb / 33.864, 2),
            "precip_mm": 0.0 if code < 1063 else round(rng.uniform(0.1, 3), 2),
            "precip_in": 0.0,
            "humidity": rng.randint(20, 98),
            "cloud": rng.choice([0, 25, 50, 75, 100]),
            "feelslike_c": feels,
            "feelslike_f": round(feels * 9 / 5 + 32, 1),
            "vis_km": vis_km,
            "vis_miles": round(vis_km / 1.609),
            "uv": float(rng.randint(0, 9) if is_day else 1),
            "gust_mph": round(gust_kph / 1.609, 1),
            "gust_kph": gust_kph,
        },
    }


def _drinks(hour: dt.datetime, seed: int) -> dict:
    rng = random.Random(f"{seed}/drinks/{hour:%Y%m%d%H}")
    chosen = rng.sample(range(len(DRINKS)), k=4)
    drinks = []
    for index in chosen:
        name, category, alcoholic, glass, ingredients = DRINKS[index]
        drink = {
            "idDrink": str(11000 + index * 37),
            "strDrink": name,
            "strDrinkAlternate": None,
            "strTags": None,
            "strCategory": category,
            "strIBA": None,
            "strAlcoholic": alcoholic,
            "strGlass": glass,
            "strInstructions": f"Mix the {len(ingredients)} ingredients of a {name} and serve.\r\nEnjoy.",
            "strDrinkThumb": f"https://www.thecocktaildb.com/images/media/drink/{index}.jpg",
        }
        for n in range(1, 16):
            ingredient, measure = ingredients[n - 1] if n <= len(ingredients) else (None, None)
            drink[f"strIngredient{n}"], drink[f"strMeasure{n}"] = ingredient, measure
        drink["dateModified"] = "2017-09-07 21:42:09"
        drinks.append(drink)
    return {"drinks": drinks}


class DemoApi:
    """The three endpoints on 127.0.0.1:<port> in a background thread (port 0: any free one)."""

    def __init__(self, port: int = 0, rate: float = 5.0, seed: int = 42, cities: int = len(CITIES)):
        self.rate, self.seed, self.cities = rate, seed, top_cities(cities, seed)
        self.requests: list[tuple[float, str, int]] = []  # (time, path, status) of every API request
        self._faults: list[dict] = []
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # api -> (tokens, when counted)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def urls(self) -> dict[str, str]:
        """The pipeline's variables pointing at this server."""
        return {
            "CITIES_API_URL": f"{self.url}/cities",
            "WEATHER_API_URL": f"{self.url}/weather/current.json",
            "COCKTAILS_API_URL": f"{self.url}/cocktails/latest.php",
        }

    def start(self) -> DemoApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _over_rate(self, api: str, now: float) -> bool:
        """A token bucket per API (each is its own plan): `rate` tokens, refilled at `rate` per second."""
        with self._lock:
            tokens, then = self._buckets.get(api, (self.rate, now))
            tokens = min(self.rate, tokens + (now - then) * self.rate)
            if tokens < 1:
                self._buckets[api] = (tokens, now)
                return True
            self._buckets[api] = (tokens - 1, now)
            return False

    def _take_fault(self, path: str) -> dict | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.get("path", "/")) and fault.get("times", 1) != 0:
                    fault["times"] = fault.get("times", 1) - 1
                    return fault
        return None

    def _answer(self, path: str, query: dict) -> tuple[int, object]:
        hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        if path == "/cities":
            return 200, list(self.cities)
        if path == "/weather/current.json":
            city = (query.get("q") or [""])[0]
            if city not in self.cities:
                return 400, {"error": {"code": 1006, "message": "No matching location found."}}
            return 200, _weather(city, self.cities[city], hour, self.seed)
        if path == "/cocktails/latest.php":
            return 200, _drinks(hour, self.seed)
        return 404, {"message": "Not Found"}

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # the tests read /_requests, not a log
                pass

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, status: int, body: bytes, interval: float, seconds: float) -> None:
                """The headers at once, then one byte of the body every `interval` for `seconds`, then the rest:
                each byte resets a client's read timeout, so only a deadline over the whole request ends it."""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                sent, ends = 0, time.monotonic() + seconds
                try:
                    while sent < len(body) and time.monotonic() < ends:
                        self.wfile.write(body[sent : sent + 1])
                        sent += 1
                        time.sleep(interval)
                    self.wfile.write(body[sent:])
                except (BrokenPipeError, ConnectionResetError):  # the client gave up, as a deadline makes it
                    pass

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/_requests":
                    return self._send(200, json.dumps(api.requests).encode())
                now = time.time()
                if api._over_rate(url.path.split("/")[1], time.monotonic()):
                    api.requests.append((now, url.path, 429))
                    return self._send(429, b'{"message":"Too many requests"}', {"Retry-After": "1"})
                fault = api._take_fault(url.path)
                status, payload = api._answer(url.path, parse_qs(url.query))
                body = json.dumps(payload, ensure_ascii=False).encode()
                if fault:
                    time.sleep(fault.get("delay_seconds", 0))
                    kind = fault.get("kind", "status")
                    if kind == "status":
                        status, body = fault["status"], json.dumps(fault.get("body", {"message": "error"})).encode()
                    elif kind == "malformed":
                        body = body[: len(body) // 2]
                    elif kind == "error_200":
                        body = b'{"message": "You have exceeded the rate limit per second for your plan"}'
                    elif kind == "edit":  # the answer's bytes changed: a prefix, one replacement (hex, any bytes)
                        old, new = bytes.fromhex(fault.get("old_hex", "")), bytes.fromhex(fault.get("new_hex", ""))
                        body = bytes.fromhex(fault.get("prefix_hex", "")) + (body.replace(old, new, 1) if old else body)
                    elif kind == "redirect":  # to `location`, absolute (another origin) or a path on this one
                        status, body = fault.get("status", 302), b"{}"
                    elif kind == "trickle":
                        api.requests.append((now, url.path, status))
                        return self._trickle(status, body, fault.get("interval", 0.5), fault.get("seconds", 20))
                api.requests.append((now, url.path, status))
                headers = {"Retry-After": str(fault["retry_after"])} if fault and "retry_after" in fault else {}
                if fault and fault.get("kind") == "redirect":
                    headers["Location"] = fault["location"]
                self._send(status, body, headers)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/_faults":
                    with api._lock:
                        api._faults.append(payload)
                elif self.path == "/_reset":
                    with api._lock:
                        api._faults.clear()
                        api.requests.clear()
                        api._buckets.clear()
                    if "rate" in payload:
                        api.rate = float(payload["rate"])
                else:
                    return self._send(404, b"{}")
                self._send(200, b"{}")

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.defs.weather.demo_api", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second allowed (default 5)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cities", type=int, default=len(CITIES), help="how many top cities (default 5)")
    args = parser.parse_args(argv)
    api = DemoApi(args.port, args.rate, args.seed, args.cities)
    print(f"serving {api.url} ({args.rate:g} requests/s): {json.dumps(api.urls())}", flush=True)
    try:
        api._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
