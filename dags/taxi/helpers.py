"""Helpers the pipeline steps call; the demo edits one of them."""

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0
MAX_FARE = 250.0
MORNING_RUSH = (7, 10)
EVENING_RUSH = (16, 19)


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def is_rush_hour(hour: pd.Series) -> pd.Series:
    morning = hour.between(MORNING_RUSH[0], MORNING_RUSH[1] - 1)
    evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1] - 1)
    return morning | evening


def is_valid_trip(trips: pd.DataFrame) -> pd.Series:
    return (trips["fare"] > 0) & (trips["fare"] <= MAX_FARE) & (trips["passengers"] > 0)
