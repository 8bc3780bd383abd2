"""What user code writes at run time, and what import time put into what it writes.

A container that code fills while it runs (a memo, a fallback cache, a registry filled on
demand), a global a function assigns (``global _client``) or a class attribute set on first use
(``cls._instance = cls()``) holds, after a call, what that call put there: hashed by value, the
same code would sign differently before and after its first run, and differently in every
process. Such a value is hashed instead by what import time put into it, which is code:

- a container: the statements, at the top level of any loaded user module, that bind it, write
  into it (``X[k] = v``, ``X.update(...)``), or call or decorate with a user function that writes
  into it (``@register("name")``, ``register("a", f)``, a subclass of a class whose
  ``__init_subclass__`` does), with every name they read, so registered functions count;
- a global or a class attribute: the statements that bind it (the walker finds those).

"Written at run time" is decided over all loaded user code, not over what one signature
reaches, so a root's graph does not depend on what else was signed. The index is kept per
boundary and built again when a module is imported. Rules and limits: docs/signatures.md.
"""

from __future__ import annotations

import collections
import functools
import inspect
import os
import sys
import types
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from skipwise import source as _source
from skipwise.boundary import Boundary
from skipwise.facts import IMPORTED_MODULE, function_facts

# Mutable builtin containers: the only values that code writing into them makes "state".
STATE_TYPES = frozenset(
    {list, dict, set, bytearray, collections.deque, collections.OrderedDict}
    | {collections.defaultdict, collections.Counter}
)
_MISSING = object()
# How many calls deep a function called at import time is searched for a write (a decorator
# factory's inner decorator is the function's own code, depth 0).
_CALL_DEPTH = 2

Seed = tuple[types.ModuleType, _source.TopStatement]


@dataclass(frozen=True, slots=True)
class ModuleWrites:
    """What the functions and methods one module defines write when they run."""

    containers: dict[int, frozenset[int]]  # id of a container -> ids of the functions writing it
    rebound: frozenset[str]  # its globals they assign
    attributes: frozenset[str]  # attribute names they assign or mutate
    # What a function sets without reading it (a setter, a registrar): see Writes.is_state.
    set_containers: dict[int, tuple[types.FunctionType, ...]]  # container id -> its setters
    set_globals: frozenset[str]
    set_attributes: frozenset[str]


@dataclass(eq=False)
class Writes:
    """What loaded user code writes at run time, scanned a module at a time as signing needs
    it; one per boundary, started again when a module is imported or removed."""

    boundary: Boundary  # a weak proxy: the index lives only as long as its boundary
    modules: tuple[int, str, int]  # ``loaded()`` when started
    pins: list[object] = field(default_factory=list)  # what the ids below stand for
    _modules: dict[str, ModuleWrites] = field(default_factory=dict)
    _holders: dict[int, list[types.ModuleType]] = field(default_factory=dict)
    _user: list[types.ModuleType] | None = None
    _seeds: dict[int, tuple[list[Seed], bool]] = field(default_factory=dict)
    _written: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    _after_import: dict[int, bool] = field(default_factory=dict)
    _sources: dict[str, _source.ModuleSource | None] = field(default_factory=dict)
    _unsourced: set[str] | None = None
    # Per signing pass (nothing is rebound within one): the user modules binding each value to
    # a global name, by its id, and those holding a subclass of a class of a module, by that
    # module's name. Built by one read of every module's globals, so finding who binds a value
    # costs the same whatever the number of modules. The values are kept while indexed, so no
    # other object can take one of their ids.
    _binders: dict[int, list[types.ModuleType]] | None = None
    _subclassers: dict[str, list[types.ModuleType]] | None = None
    _indexed: list[object] = field(default_factory=list)

    def new_pass(self) -> None:
        """Forget how globals were bound: a new pass reads them again when it needs them."""
        self._binders = self._subclassers = None
        self._indexed = []

    def bound_in(self, value: object) -> list[types.ModuleType]:
        """The user modules with a global bound to ``value``, in module order."""
        if self._binders is None:
            self._index()
        return self._binders.get(id(value), [])  # type: ignore[union-attr]

    def _index(self) -> None:
        binders: dict[int, list[types.ModuleType]] = {}
        subclassers: dict[str, list[types.ModuleType]] = {}
        for module in self.user_modules():
            values = list(vars(module).values())
            self._indexed.append(values)
            for value in values:
                found = binders.setdefault(id(value), [])
                if not found or found[-1] is not module:
                    found.append(module)
                if issubclass(type(value), type):
                    for base in value.__mro__[1:]:
                        holding = subclassers.setdefault(base.__module__, [])
                        if not holding or holding[-1] is not module:
                            holding.append(module)
        self._binders, self._subclassers = binders, subclassers

    def user_modules(self) -> list[types.ModuleType]:
        if self._user is None:
            self._user = _user_modules(self.boundary)
        return self._user

    def module(self, module: types.ModuleType) -> ModuleWrites:
        found = self._modules.get(module.__name__)
        if found is None:
            found = self._modules[module.__name__] = self._scan(module)
        return found

    def _scan(self, module: types.ModuleType) -> ModuleWrites:
        containers: dict[int, set[int]] = {}
        rebound: set[str] = set()
        attributes: set[str] = set()
        set_containers: dict[int, list[types.FunctionType]] = {}
        set_globals: set[str] = set()
        set_attributes: set[str] = set()
        for fn in _functions(module):
            scope = fn.__globals__
            facts = function_facts(fn.__code__, scope)
            for value in _containers(facts, scope, facts.mutated, facts.attr_writes):
                containers.setdefault(self._pin(value), set()).add(self._pin(fn))
            for value in _containers(facts, scope, facts.sets, facts.attr_sets):
                set_containers.setdefault(self._pin(value), []).append(fn)
            rebound |= facts.rebound
            attributes |= facts.attr_writes
            set_globals |= facts.sets & facts.rebound
            set_attributes |= facts.attr_sets
        return ModuleWrites(
            {k: frozenset(v) for k, v in containers.items()},
            frozenset(rebound),
            frozenset(attributes),
            {k: tuple(v) for k, v in set_containers.items()},
            frozenset(set_globals),
            frozenset(set_attributes),
        )

    def holders(self, container: object) -> list[types.ModuleType]:
        """The user modules that bind ``container`` to a global name."""
        found = self._holders.get(id(container))
        if found is None:
            found = self._holders[self._pin(container)] = list(self.bound_in(container))
        return found

    def is_state(self, container: object, mutated: bool) -> bool:
        """Whether ``container`` is state, hashed by what import time put there: code fills
        it while it runs (the function reading it, when ``mutated``, or a function of a
        module that binds it or imports such a module: ``m.CACHE[k] = v``), and no function
        that sets it without reading it (``SETTINGS["rate"] = rate``) can run after import.
        Such a setter called by a script or by any function (``configure(args.rate)``) puts
        there what the run decides: the container is then hashed by value. A registrar only
        called at import time (``@register("name")``, ``add("neg", f)`` at the top of a
        module, or through functions of its own module only called so) is a seed."""
        holders = self.holders(container)
        modules = [self.module(m) for m in (*holders, *self._importers(holders))]
        target = id(container)
        setters = [fn for m in modules for fn in m.set_containers.get(target, ())]
        if any(self._runs_after_import(fn) for fn in setters):
            return False
        return mutated or any(target in m.containers for m in modules)

    def _runs_after_import(self, fn: types.FunctionType, depth: int = 0) -> bool:
        """Whether ``fn`` may be called after import. It may unless a module-level statement
        of a module other than ``__main__`` names it (a decorator, a call: it runs at
        import) or a function of its own module that does not run after import calls it,
        and nothing else names it: no function of another module, not ``__main__`` (a
        script runs the pipeline). Callers nobody can see (code run by ``exec``) are why a
        function no module-level statement names may."""
        found = self._after_import.get(id(fn))
        if found is not None:
            return found
        self._after_import[id(fn)] = False  # a recursive reference adds nothing more
        module = sys.modules.get(fn.__module__)
        at_import = False
        runs_later = depth > _CALL_DEPTH or module is None
        for other in () if runs_later else self._naming(fn, module):  # type: ignore[arg-type]
            if other.__name__ == "__main__":
                runs_later = True
            elif other is module:
                callers = [g for g in _functions(module) if g is not fn and _names(g, fn)]
                runs_later = any(self._runs_after_import(g, depth + 1) for g in callers)
                at_import = at_import or bool(callers)
            else:
                runs_later = any(_names(g, fn) for g in _functions(other))
            at_import = at_import or self._named_at_import(other, fn)
            if runs_later:
                break
        found = runs_later or not at_import
        self._after_import[self._pin(fn)] = found
        return found

    def _named_at_import(self, module: types.ModuleType, fn: types.FunctionType) -> bool:
        """Whether a module-level statement of ``module`` names ``fn``."""
        src = self._source(module)
        return src is not None and any(
            _chains_name(vars(module), (*stmt.callees, *stmt.reads), fn)
            for stmt in src.top_statements()
        )

    def _naming(self, fn: types.FunctionType, module: types.ModuleType) -> list[types.ModuleType]:
        """The user modules that can name ``fn``: its own, and those binding it or its module."""
        others = {id(m): m for v in (fn, module) for m in self.bound_in(v) if m is not module}
        return [module, *sorted(others.values(), key=lambda m: m.__name__)]

    def _importers(self, modules: list[types.ModuleType]) -> list[types.ModuleType]:
        """The user modules that bind one of ``modules`` to a name (``import m``)."""
        return list({id(i): i for m in modules for i in self.bound_in(m)}.values())

    def rebound(self, scope: dict, name: str) -> bool:
        """Whether a function of the module with these globals assigns ``name``."""
        module = sys.modules.get(scope.get("__name__", ""))  # type: ignore[arg-type]
        if module is None or vars(module) is not scope:
            return False
        found = self.module(module)
        return name in found.rebound and name not in found.set_globals  # see is_state

    def attribute_written(self, cls: type, name: str) -> bool:
        """Whether code of the modules defining ``cls`` and its user bases writes ``name``,
        and none of it sets ``name`` without reading it (see :meth:`is_state`)."""
        written = False
        for klass in cls.__mro__:
            module = sys.modules.get(klass.__module__)
            if module is None or not self.boundary.is_user_module(module.__name__):
                continue
            found = self.module(module)
            if name in found.set_attributes:
                return False
            written = written or name in found.attributes
        return written

    def seeds(self, container: object) -> tuple[list[Seed], bool]:
        """The import-time statements that put something into ``container``, in module order;
        False when a user module that binds it has no usable source (a notebook, a file edited
        since import), so statements cannot tell all."""
        found = self._seeds.get(id(container))
        if found is None:
            found = self._seeds[self._pin(container)] = self._find_seeds(container)
        return found

    def unsourced(self) -> set[str]:
        """User modules whose source is unknown (a notebook) or not what ran (edited since)."""
        if self._unsourced is None:
            self._unsourced = {
                m.__name__
                for m in self.user_modules()
                if not os.path.isfile(getattr(m, "__file__", None) or "")
                or not _source.unchanged_since_import(m)
            }
        return self._unsourced

    def _source(self, module: types.ModuleType) -> _source.ModuleSource | None:
        if module.__name__ not in self._sources:
            self._sources[module.__name__] = (
                None
                if module.__name__ in self.unsourced()
                else _source.module_source(getattr(module, "__file__", None), vars(module))
            )
        return self._sources[module.__name__]

    def _find_seeds(self, container: object) -> tuple[list[Seed], bool]:
        holders = self.holders(container)
        complete = all(self._source(m) is not None for m in holders)
        target = id(container)
        # Only modules that can name the container or a function writing it are read.
        writers = {w for m in holders for w in self.module(m).containers.get(target, ())}
        self.bound_in(container)  # indexes the pass's bindings
        binders, subclassers = self._binders or {}, self._subclassers or {}
        named = [container, *holders]
        readers = {id(m) for v in named for m in binders.get(id(v), ())}
        readers |= {id(m) for w in writers for m in binders.get(w, ())}
        readers |= {id(m) for h in holders for m in subclassers.get(h.__name__, ())}
        seeds: list[Seed] = []
        for module in self.user_modules():
            if id(module) not in readers:
                continue
            scope = vars(module)
            src = self._source(module)
            if src is None:
                continue
            calls_register = module.__name__ != "__main__"  # a script's calls run the pipeline
            for stmt in src.top_statements():
                if target in self._written_by_statement(scope, stmt, calls_register):
                    seeds.append((module, stmt))
        return seeds, complete

    def _written_by_statement(
        self, scope: dict, stmt: _source.TopStatement, calls_register: bool
    ) -> set[int]:
        ids: set[int] = set()
        for name in stmt.binds:
            if type(value := scope.get(name)) in STATE_TYPES:
                ids.add(id(value))
        for chain in stmt.receivers:
            if type(value := resolve(scope, chain)) in STATE_TYPES:
                ids.add(id(value))
        for chain in stmt.callees if calls_register or stmt.defines else ():
            ids |= self.written_by(resolve(scope, chain))
        if stmt.defines and issubclass(type(cls := scope.get(stmt.defines)), type):
            ids |= self._written_by_class_creation(cls)
        return ids

    def _pin(self, value: object) -> int:
        self.pins.append(value)
        return id(value)

    def _written_by_class_creation(self, cls: type) -> frozenset[int]:
        """A class statement runs its bases' ``__init_subclass__`` and its metaclass."""
        found: set[int] = set()
        for base in cls.__mro__[1:]:
            if self.boundary.is_user_type(base):
                found |= self.written_by(vars(base).get("__init_subclass__"))
        meta = type(cls)
        if meta is not type and self.boundary.is_user_type(meta):
            for name in ("__new__", "__init__"):
                found |= self.written_by(vars(meta).get(name))
        return frozenset(found)

    def written_by(self, obj: object, depth: int = 0) -> frozenset[int]:
        """Ids of the containers a user function (or what it calls, a few calls deep) writes."""
        fn = _function_of(obj)
        if fn is None or not self.boundary.is_user_module(fn.__module__):
            return frozenset()
        memo_key = (id(fn), depth)
        if memo_key in self._written:
            return self._written[memo_key]
        self._written[memo_key] = frozenset()  # a recursive call adds nothing more
        scope = fn.__globals__
        facts = function_facts(fn.__code__, scope)
        found = {self._pin(v) for v in _containers(facts, scope, facts.mutated, facts.attr_writes)}
        if depth < _CALL_DEPTH:
            for chain in facts.chains:
                if chain[0] != IMPORTED_MODULE:
                    found |= self.written_by(resolve(scope, chain), depth + 1)
        result = self._written[memo_key] = frozenset(found)
        self._pin(fn)
        return result


def _names(caller: types.FunctionType, fn: types.FunctionType) -> bool:
    """Whether ``caller``'s code names ``fn`` (``fn(...)``, ``m.fn(...)``, passed on)."""
    scope = caller.__globals__
    chains = function_facts(caller.__code__, scope).chains
    return _chains_name(scope, [c for c in chains if c[0] != IMPORTED_MODULE], fn)


def _chains_name(scope: dict, chains: Iterable[tuple[str, ...]], fn: types.FunctionType) -> bool:
    """Whether one of these name chains, or a prefix of one, stands for ``fn`` in ``scope``."""
    return any(
        _function_of(resolve(scope, chain[:i])) is fn
        for chain in chains
        for i in range(1, len(chain) + 1)
    )


def _containers(
    facts, scope: dict, names: frozenset[str], attributes: frozenset[str]
) -> Iterator[object]:
    """Module-level containers among what a function writes (``names``: ``X[k] = v``,
    ``X.append(v)``; through a module or a class, ``attributes``: ``m.X[k] = v``,
    ``C.cache.setdefault(...)``)."""
    for name in names:
        if type(value := scope.get(name)) in STATE_TYPES:
            yield value
    for chain in facts.chains:
        if len(chain) < 2 or chain[0] == IMPORTED_MODULE:
            continue
        target = chain[:-1] if chain[-1] in _source.MUTATORS else chain
        written = len(target) >= 2 and target[-1] in attributes
        if written and type(value := resolve(scope, target)) in STATE_TYPES:
            yield value


def _function_of(obj: object) -> types.FunctionType | None:
    """The function that runs when ``obj`` is called or applied as a decorator."""
    for _ in range(4):
        if issubclass(type(obj), types.FunctionType):
            return obj
        if issubclass(type(obj), staticmethod | classmethod | types.MethodType):
            obj = obj.__func__
        elif issubclass(type(obj), functools.partial):
            obj = obj.func
        elif issubclass(type(obj), type):
            obj = inspect.getattr_static(obj, "__init__", None)
        else:
            return None
    return None


def resolve(scope: dict, chain: tuple[str, ...]) -> object:
    """What ``a.b.c`` names in a module's globals, looked up without running ``__getattr__``."""
    value = scope.get(chain[0], _MISSING)
    for attr in chain[1:]:
        if value is _MISSING:
            break
        try:
            value = inspect.getattr_static(value, attr, _MISSING)
        except Exception:
            return _MISSING
    return value


def _user_modules(boundary: Boundary) -> list[types.ModuleType]:
    return [
        module
        for name, module in sorted(list(sys.modules.items()), key=lambda item: item[0])
        if issubclass(type(module), types.ModuleType) and boundary.is_user_module(name)
    ]


def _functions(module: types.ModuleType) -> Iterator[types.FunctionType]:
    """The functions and methods a module defines (decorated ones through ``__wrapped__``)."""
    scope, name = vars(module), module.__name__
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(v, 0) for v in list(scope.values())]
    while stack:
        value, depth = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if issubclass(type(value), types.FunctionType):
            if value.__globals__ is scope:
                yield value
            wrapped = vars(value).get("__wrapped__")
            if wrapped is not None:
                stack.append((wrapped, depth))
        elif issubclass(type(value), staticmethod | classmethod):
            stack.append((value.__func__, depth))
        elif issubclass(type(value), property):
            stack += [(f, depth) for f in (value.fget, value.fset, value.fdel) if f]
        elif issubclass(type(value), functools.cached_property):
            stack.append((value.func, depth))
        elif issubclass(type(value), type) and value.__module__ == name and depth < 4:
            stack += [(v, depth + 1) for v in list(vars(value).values())]
        elif callable(value) and (wrapped := _instance_attribute(value)) is not None:
            stack.append((wrapped, depth))


def _instance_attribute(value: object, name: str = "__wrapped__") -> object:
    """An attribute an object (an ``lru_cache`` wrapper) keeps itself, read without code."""
    try:
        return object.__getattribute__(value, "__dict__").get(name)
    except Exception:
        return None


_current: weakref.WeakKeyDictionary[Boundary, Writes] = weakref.WeakKeyDictionary()


def current(boundary: Boundary) -> Writes:
    """The index for the modules loaded now (one per boundary, rebuilt after imports)."""
    writes = _current.get(boundary)
    modules = loaded()
    if writes is None or writes.modules != modules:
        writes = _current[boundary] = Writes(weakref.proxy(boundary), modules)
    return writes


def new_pass(boundary: Boundary) -> None:
    """A signing pass starts: globals may have been rebound since the last one."""
    writes = _current.get(boundary)
    if writes is not None:
        writes.new_pass()


def loaded() -> tuple[int, str, int]:
    """Which modules are loaded, in O(1): how many, and the last one imported."""
    last = next(reversed(sys.modules))
    return len(sys.modules), last, id(sys.modules[last])
