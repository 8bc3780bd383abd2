"""Which Airflow context values enter a task's signature.

A callable receives the context values it declares as parameters. Those that say *which data*
a run is about are signed like any argument: the dates and data intervals, ``params``,
``templates_dict`` and the partition. Run identity (``run_id``, ``try_number``...) and runtime
handles (``ti``, ``dag_run``, ``var``, ``conn``...) never are: a value read through them is
invisible to skipwise, so pass what matters as a (templated) argument instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from airflow.sdk import Context

SIGNED = frozenset(
    {
        "data_interval_end",
        "data_interval_start",
        "ds",
        "ds_nodash",
        "logical_date",
        "params",
        "partition_date",
        "partition_key",
        "prev_data_interval_end_success",
        "prev_data_interval_start_success",
        "prev_end_date_success",
        "prev_start_date_success",
        "templates_dict",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
    }
)
UNSIGNED = frozenset(Context.__annotations__) - SIGNED


def unsigned_parameters(fn: Callable[..., Any]) -> list[str]:
    """Named parameters that receive unsigned context values: left out of the signature."""
    return [
        name
        for name, param in inspect.signature(fn).parameters.items()
        if name in UNSIGNED and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
    ]


def signed_kwargs(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments to sign. A ``**kwargs`` parameter receives the whole context: its
    unsigned entries are dropped (so every date it receives is signed: declare only what you
    use). ``params`` is signed as a plain dict of its values."""
    named = inspect.signature(fn).parameters
    signed = {k: v for k, v in kwargs.items() if k in named or k not in UNSIGNED}
    if isinstance(signed.get("params"), Mapping):
        signed["params"] = dict(signed["params"])
    return signed
