"""The pipeline's steps, as plain functions of DataFrames."""

import numpy as np
import pandas as pd

from taxi.helpers import haversine_km, is_rush_hour, is_valid_trip

FEATURES = ["distance_km", "rush", "weekend"]


def make_trips(n_trips: int = 200_000, seed: int = 7) -> pd.DataFrame:
    """Synthetic trips, deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01")
    pickup = start + pd.to_timedelta(rng.integers(0, 31 * 24 * 3600, n_trips), unit="s")
    lat = 40.75 + rng.normal(0, 0.03, n_trips)
    lon = -73.98 + rng.normal(0, 0.03, n_trips)
    dlat = lat + rng.normal(0, 0.02, n_trips)
    dlon = lon + rng.normal(0, 0.02, n_trips)
    km = haversine_km(lat, lon, dlat, dlon)
    hour = pd.Series(pickup.hour)
    surcharge = np.where(hour.between(7, 9) | hour.between(16, 18), 2.5, 0.0)
    fare = 3.0 + 2.2 * km + surcharge + rng.normal(0, 1.5, n_trips)
    fare[rng.random(n_trips) < 0.01] = -1.0  # refunds and glitches the cleaner must drop
    return pd.DataFrame(
        {
            "pickup_at": pickup,
            "pickup_lat": lat,
            "pickup_lon": lon,
            "dropoff_lat": dlat,
            "dropoff_lon": dlon,
            "passengers": rng.integers(0, 5, n_trips),
            "fare": fare,
        }
    )


def clean(trips: pd.DataFrame) -> pd.DataFrame:
    return trips[is_valid_trip(trips)].reset_index(drop=True)


def fare_features(cleaned: pd.DataFrame) -> pd.DataFrame:
    km = haversine_km(
        cleaned["pickup_lat"], cleaned["pickup_lon"], cleaned["dropoff_lat"], cleaned["dropoff_lon"]
    )
    return pd.DataFrame({"distance_km": km, "fare": cleaned["fare"]})


def time_features(cleaned: pd.DataFrame) -> pd.DataFrame:
    hour = cleaned["pickup_at"].dt.hour
    return pd.DataFrame(
        {
            "rush": is_rush_hour(hour).astype("int8"),
            "weekend": (cleaned["pickup_at"].dt.day_of_week >= 5).astype("int8"),
        }
    )


def fit_model(fares: pd.DataFrame, times: pd.DataFrame) -> dict:
    """Least-squares fare model; JSON-able so any store can keep it."""
    x = np.column_stack(
        [np.ones(len(fares)), fares["distance_km"], times["rush"], times["weekend"]]
    )
    coef, *_ = np.linalg.lstsq(x, fares["fare"].to_numpy(), rcond=None)
    return {
        "intercept": float(coef[0]),
        **{f: float(c) for f, c in zip(FEATURES, coef[1:], strict=True)},
    }


def evaluate(model: dict, fares: pd.DataFrame, times: pd.DataFrame) -> dict:
    predicted = (
        model["intercept"]
        + model["distance_km"] * fares["distance_km"]
        + model["rush"] * times["rush"]
        + model["weekend"] * times["weekend"]
    )
    error = fares["fare"] - predicted
    rmse = float(np.sqrt((error**2).mean()))
    r2 = float(1 - (error**2).sum() / ((fares["fare"] - fares["fare"].mean()) ** 2).sum())
    return {"rmse": round(rmse, 4), "r2": round(r2, 4), "trips": len(fares)}
