"""Attributes of objects skipwise does not own, read without running their code.

``getattr(obj, name)`` runs whatever the object's class says: a ``__getattr__`` that makes up
an answer for any name (pygments' token types create and keep a child token for it), a
``__getattribute__``, a property. Signing must neither run nor change user and library code,
so it reads only what is stored: an entry of the instance's or the class's dictionary
(:func:`inspect.getattr_static`), or a field that a descriptor written in C reads (a slot,
``__name__``, ``__dict__``, a bound method's ``__self__``), which runs no Python.
"""

from __future__ import annotations

import contextlib
import inspect
import types
from typing import Any

_ABSENT = object()
_C_FIELDS = (types.GetSetDescriptorType, types.MemberDescriptorType)
# Types whose getattr reads only their own dictionary and C fields: answered by getattr (fast).
_READ_ONLY_GETATTR = frozenset(
    {types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.MethodWrapperType}
)
_mro = type.__dict__["__mro__"].__get__  # a class's MRO, whatever its metaclass says


def static_attribute(obj: object, name: str, default: Any = None) -> Any:
    """``getattr(obj, name, default)`` as far as it can be answered without running Python:
    the instance's own entry or slot, a field that a C descriptor reads, a class's own entry
    (a method, a property object) or a plain value its type holds. What ``getattr`` would have
    to compute (``__getattr__``, ``__getattribute__``, a property or other descriptor on the
    object's type) gives ``default``."""
    if type(obj) in _READ_ONLY_GETATTR:
        return getattr(obj, name, default)
    if type(obj) is types.ModuleType:  # its names are its dictionary's (PEP 562 aside)
        value = obj.__dict__.get(name, _ABSENT)
        if value is not _ABSENT:
            return value
    try:
        value = inspect.getattr_static(obj, name, _ABSENT)
    except Exception:  # an object whose type machinery is broken: nothing to read
        return default
    if value is _ABSENT:
        return default
    if type(value) in _C_FIELDS and issubclass(type(obj), value.__objclass__):
        try:
            return value.__get__(obj, type(obj))
        except AttributeError:  # an empty slot
            return default
    if defines(type(value), "__get__") is None:
        return value  # plain data, wherever it was found
    if issubclass(type(obj), type):
        return value if defines(obj, name) is value else default  # not the metaclass's
    own = static_attribute(obj, "__dict__")
    return value if isinstance(own, dict) and dict.get(own, name, _ABSENT) is value else default


def instance_state(obj: object) -> dict[str, Any]:
    """What an instance stores: its ``__dict__`` and its filled slots (by their stored name)."""
    stored = static_attribute(obj, "__dict__")
    state = dict(stored) if isinstance(stored, dict) else {}
    for klass in _mro(type(obj)):
        for slot, field in vars(klass).items():
            if type(field) is types.MemberDescriptorType and slot not in state:
                with contextlib.suppress(AttributeError):  # an empty slot
                    state[slot] = field.__get__(obj, type(obj))
    return state


def computes_attributes(t: type) -> bool:
    """Whether instances of ``t`` compute the attributes asked for in Python (``__getattr__``,
    a ``__getattribute__`` of their own; C types' lookups only read what is stored)."""
    return defines(t, "__getattr__") is not None or (
        type(defines(t, "__getattribute__")) is not types.WrapperDescriptorType
    )


def defines(t: type, name: str) -> Any:
    """The entry ``name`` of the first class in ``t``'s MRO whose dictionary has it, else None:
    what the type itself says, however its metaclass answers ``getattr``."""
    for klass in _mro(t):
        entry = vars(klass).get(name, _ABSENT)
        if entry is not _ABSENT:
            return entry
    return None
