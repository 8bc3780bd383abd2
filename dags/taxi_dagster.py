"""The taxi pipeline as Dagster assets: the same step functions as ``taxi/pipeline.py``.

Each asset is stored under the same name as the plain-Python pipeline (``taxi.cleaned``...)
and signed the same way, so results computed by either are reused by the other on a shared
store. Serve it with ``dagster dev -f dags/taxi_dagster.py -d dags`` (store: ``$SKIPWISE_STORE``,
else ``.skipwise/``); ``trips`` takes ``n_trips`` and ``seed`` as run config. Executing the
checks (``Execute all`` on the asset graph) says which assets will rerun, running none.
"""

import dagster as dg

import skipwise.dagster as sd
from taxi import steps


def taxi_asset(step, name: str, **upstream: str) -> dg.AssetsDefinition:
    """An asset ``taxi/<name>``; ``upstream`` maps the step's parameters to taxi assets."""
    ins = {param: dg.AssetKey(["taxi", asset]) for param, asset in upstream.items()}
    return sd.asset(step, name=name, key_prefix="taxi", group_name="taxi", ins=ins)


trips = taxi_asset(steps.make_trips, "trips")
cleaned = taxi_asset(steps.clean, "cleaned", trips="trips")
fare_features = taxi_asset(steps.fare_features, "fare_features", cleaned="cleaned")
time_features = taxi_asset(steps.time_features, "time_features", cleaned="cleaned")
model = taxi_asset(steps.fit_model, "model", fares="fare_features", times="time_features")
metrics = taxi_asset(
    steps.evaluate, "metrics", model="model", fares="fare_features", times="time_features"
)

assets = [trips, cleaned, fare_features, time_features, model, metrics]
# The check skipwise_up_to_date of each asset: will its next materialization rerun, and why.
up_to_date = sd.checks(assets)
resources = {"io_manager": sd.SkipwiseIOManager()}
defs = dg.Definitions(assets=assets, asset_checks=[up_to_date], resources=resources)
