"""A third host, written only against ``skipwise.host``: a small thread-pool orchestrator.

It is what docs/architecture.md promises: a new orchestrator needs the host API and nothing
else of core (the import rule of tests/test_host.py holds for this file too).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skipwise import host
from tests.test_host import core_imports

# --- the host -----------------------------------------------------------------------------


@dataclass
class Pipeline:
    """Tasks by name; a task's parameters named like another task receive its result."""

    name: str
    tasks: dict[str, host.Step[Any]] = field(default_factory=dict)

    def task(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        options = host.StepOptions(name=f"{self.name}.{fn.__name__}")
        self.tasks[fn.__name__] = host.Step(fn, options)
        return fn

    def upstream(self, task: str) -> list[str]:
        return [p for p in inspect.signature(self.tasks[task].fn).parameters if p in self.tasks]

    def run(self, run_id: str, **inputs: Any) -> dict[str, host.Outcome[Any]]:
        done: dict[str, host.Outcome[Any]] = {}
        with ThreadPoolExecutor(2) as pool:
            while len(done) < len(self.tasks):
                ready = [
                    t for t in self.tasks if t not in done and set(self.upstream(t)) <= set(done)
                ]
                for task, outcome in zip(
                    ready,
                    pool.map(lambda t: self._run(t, done, run_id, inputs), ready),
                    strict=True,
                ):
                    done[task] = outcome
        return done

    def _run(
        self, task: str, done: dict[str, host.Outcome[Any]], run_id: str, inputs: dict[str, Any]
    ) -> host.Outcome[Any]:
        step = self.tasks[task]
        kwargs = {p: host.Ref(done[p].signature) for p in self.upstream(task)}
        kwargs |= {p: v for p, v in inputs.items() if p in inspect.signature(step.fn).parameters}
        decision = step.resolve(step.sign((), kwargs))
        return step.complete(
            decision, lambda: step.call((), kwargs), load=False, producer={"toy": run_id}
        )


@host.register_discoverer
def pipelines_in(module: types.ModuleType) -> list[host.Target]:
    """``skipwise plan`` on a module that defines pipelines lists their tasks."""
    targets = []
    for pipeline in (v for v in vars(module).values() if isinstance(v, Pipeline)):
        for name, step in pipeline.tasks.items():
            upstream = tuple(pipeline.tasks[u].name for u in pipeline.upstream(name))
            targets.append(host.Target(step.name, step.code, upstream, name))
    return targets


# --- the tests ---------------------------------------------------------------------------

calls: list[str] = []
toy = Pipeline("toy")


@toy.task
def numbers(n: int) -> list[int]:
    calls.append("numbers")
    return list(range(n))


@toy.task
def total(numbers: list[int]) -> int:
    calls.append("total")
    return sum(numbers)


def test_the_toy_host_runs_skips_and_plans(isolated_store: Path) -> None:
    calls.clear()
    first = toy.run("run-1", n=4)
    assert {t: o.status for t, o in first.items()} == {"numbers": "computed", "total": "computed"}
    assert host.Ref(first["total"].signature).load() == 6
    again = toy.run("run-2", n=4)
    assert {o.status for o in again.values()} == {host.Status.REUSED} and len(calls) == 2
    toy.run("run-3", n=5)
    assert calls[2:] == ["numbers", "total"]

    module = types.ModuleType("toy_pipelines")
    module.toy = toy  # type: ignore[attr-defined]
    planned = host.make_plan(host.discover(module), host.current_store(), "toy")
    assert {i.label: i.status for i in planned.items} == {"numbers": "reuse", "total": "reuse"}
    assert planned.items[1].upstream == ["toy.numbers"]


def test_this_host_imports_only_the_host_api() -> None:
    assert core_imports(Path(__file__).read_text(), "tests") == []
