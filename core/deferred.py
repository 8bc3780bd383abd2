"""Results that load on first use: what a hit of ``skipwise.cached`` returns in plain Python.

A no-change run of a pipeline then reads no stored data it does not touch: a hit passed on to
another cached function is signed by its lineage (its signature and stored checksum, see
:func:`skipwise.engine.lineage_of`), never by its content. The proxy is ``lazy-object-proxy``'s
(in C, thorough about special methods, and it reports the loaded value's class, so
``isinstance(x, pd.DataFrame)`` holds); it differs from the value only by identity: ``x is y``
and ``type(x)`` see the proxy. ``skipwise.load(x)`` gives the value itself.

Code that must not load (signing, lineage) asks ``is_lazy`` by ``type()``: anything else
(``isinstance``, an attribute) loads.
"""

from __future__ import annotations

from typing import Any

import lazy_object_proxy


class LazyResult(lazy_object_proxy.Proxy):
    """A stored result that is read the first time it is used."""

    __slots__ = ("__weakref__",)  # results are remembered by weak reference (their lineage)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


def is_lazy(obj: object) -> bool:
    """Whether ``obj`` is a lazy result, without loading it."""
    return issubclass(type(obj), LazyResult)


def loaded(obj: Any) -> Any:
    """The value behind a lazy result (read now if it was not), or ``obj`` itself."""
    return obj.__wrapped__ if is_lazy(obj) else obj
