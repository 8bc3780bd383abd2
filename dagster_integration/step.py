"""One skipwise asset: which parameters are upstream assets, which are run config, and how
its signature is built: by core's :class:`skipwise.host.Step`, exactly as
``skipwise.cached(fn, name=...)`` builds it, so a result is shared with plain Python and
Airflow runs of the same function on the same store."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from skipwise.host import PARTITION, Ref, SignatureTree, Step, StepOptions, Store

# Defaults of these types become run config; a value from config keeps its type, so the
# signature is the one a Python call with the same value has.
_CONFIG_TYPES = (type(None), bool, int, float, str)
CONTEXT = "context"

# How ``ins`` may name an upstream asset.
AssetKeyLike = dg.AssetKey | str | Sequence[str]
# An upstream argument: one stored result, or one per upstream partition.
UpstreamResults = Mapping[str, Ref | Mapping[str, Ref]]


@dataclass(frozen=True)
class AssetStep:
    fn: Callable[..., Any]
    name: str  # the result name in the store (partitions add a segment)
    upstream: Mapping[str, dg.AssetKey]  # parameter -> upstream asset
    config: Mapping[str, Any]  # parameter -> default, overridable in run config
    takes_context: bool
    options: StepOptions = field(default_factory=StepOptions)  # version, codec... (no name)

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        name: str,
        ins: Mapping[str, AssetKeyLike],
        options: StepOptions,
    ) -> AssetStep:
        """Parameters: ``context`` (first) gets the Dagster context and is not signed; those
        in ``ins`` or without a default are upstream assets (named like the parameter unless
        ``ins`` maps them); those with a simple default are run config."""
        params = inspect.signature(fn).parameters
        unknown = set(ins) - set(params)
        if unknown:
            raise dg.DagsterInvalidDefinitionError(
                f"{name}: ins= names no parameter of {fn.__qualname__}: {sorted(unknown)}"
            )
        upstream: dict[str, dg.AssetKey] = {}
        config: dict[str, Any] = {}
        takes_context = False
        for index, (param, spec) in enumerate(params.items()):
            if spec.kind in (spec.VAR_POSITIONAL, spec.VAR_KEYWORD):
                raise dg.DagsterInvalidDefinitionError(
                    f"{name}: *args/**kwargs cannot be mapped to assets or config"
                )
            if param in ins:
                upstream[param] = dg.AssetKey.from_coercible(ins[param])
            elif param == CONTEXT and index == 0:
                takes_context = True
            elif spec.default is spec.empty:
                upstream[param] = dg.AssetKey(param)
            elif type(spec.default) in _CONFIG_TYPES:
                config[param] = spec.default
        return cls(fn, name, upstream, config, takes_context, options)

    @functools.cached_property
    def step(self) -> Step[Any]:
        """The function as a core step, named for the asset; the context is not signed."""
        ignore = (*self.options.ignore, *([CONTEXT] if self.takes_context else []))
        return Step(self.fn, dataclasses.replace(self.options, name=self.name, ignore=ignore))

    def code_version(self) -> str:
        """Dagster's code version: the code graph digest, which covers every helper."""
        digest = self.step.code().digest
        version = self.step.version
        return f"{digest}+v{version}" if version else digest

    def config_schema(self) -> dict[str, dg.Field]:
        return {
            param: dg.Field(dg.Any, default_value=default, is_required=False)
            for param, default in self.config.items()
        }

    def arguments(
        self,
        upstream: UpstreamResults,
        config: Mapping[str, Any],
        context: object = None,
    ) -> dict[str, Any]:
        """Keyword arguments for the function: upstream results as ``Ref``s (loaded only if
        it runs), config values, and the context."""
        kwargs: dict[str, Any] = {CONTEXT: context} if self.takes_context else {}
        for param, result in upstream.items():
            kwargs[param] = result if isinstance(result, Ref) else dict(sorted(result.items()))
        kwargs.update((param, config[param]) for param in self.config if param in config)
        return kwargs

    def tree(self, kwargs: Mapping[str, Any], partition: str | None, store: Store) -> SignatureTree:
        """The partition key enters the signature of partitioned assets only. ``store`` is
        where the asset's results live (a lazy asset's query is compiled for it)."""
        facts = None if partition is None else {PARTITION: partition}
        return self.step.replace(store=store).sign((), kwargs, facts)

    def runner(self, name: str, store: Store) -> Step[Any]:
        """Resolves and stores under ``name`` (one per partition): a partition's reason
        compares it with that partition's previous result."""
        return self.step.replace(name=name, store=store)
