"""The host API: everything an orchestrator integration needs from core, and nothing more.

The Airflow and Dagster integrations import only ``skipwise`` and this module, so core can
change its insides without breaking a host, and a new host (Prefect, Flyte...) knows what it
may use. See docs/architecture.md for how a host adds itself.

Running a step::

    step = Step(fn, StepOptions(name=..., version=...))
    tree = step.sign(args, kwargs, {PARTITION: key})   # upstream results as Ref(signature)
    decision = step.resolve(tree)
    outcome = step.complete(decision, body, load=False, producer={"my-host": run_id})
    if not outcome.stored: ...                          # the host passes results by reference

Instances: a host that lets a run pick its pipeline instance (a param, a resource) runs the
step inside ``using_instance(name)``, and calls ``step.derive(args, kwargs)`` once before
signing, then signs and runs with what it returns; ``instance_name()`` is the one in effect.

Stores: ``current_store()`` is skipwise's configured one; a host that keeps credentials its
own way builds a ``StoreSpec`` (``sql_url``/``s3_options`` turn connection fields into a URL or
storage options), masks ``spec.secrets()`` in its logs and shows ``spec.display``/``redact``.

Planning: ``register_discoverer`` lets ``skipwise plan`` find the host's targets in a module
(``discover`` asks every registered one); ``make_plan`` plans a list of :class:`Target`.

Explaining: ``explain(plan, item, store, current)`` is one task's :class:`Explanation`: why it
reruns, the source diff of each change (``diff_html``/``diff_css``, ``diff_markdown``;
``source_html`` for one node's source) and its
signature tree as a picture coloured as the plan says (``.graph()``, drawn by ``to_svg``), the
same that ``skipwise explain`` prints. ``source_diffs`` gives the same diffs for a step that
just ran (the result it replaced against the one it stored).
"""

from __future__ import annotations

from skipwise.codegraph import CodeGraph
from skipwise.config import current_store, import_store_backend, instance_name, using_instance
from skipwise.credentials import StoreSpec, s3_options, sql_url
from skipwise.engine import Outcome, Ref, latest_tree
from skipwise.errors import redact
from skipwise.explanation import (
    Explanation,
    SourceDiff,
    diff_css,
    diff_html,
    diff_markdown,
    explain,
    source_diffs,
    source_html,
)
from skipwise.force import requested as force_requested
from skipwise.graph import GraphNode, StatusGraph, to_svg, tree_graph
from skipwise.plan import Plan, PlanItem, Target, discover, make_plan, register_discoverer
from skipwise.status import Reason, Status, Style
from skipwise.step import Decision, Step, StepOptions, load_refs
from skipwise.store import Store
from skipwise.tree import PARTITION, Change, SignatureTree

__all__ = [
    "PARTITION",
    "Change",
    "CodeGraph",
    "Decision",
    "Explanation",
    "GraphNode",
    "Outcome",
    "Plan",
    "PlanItem",
    "Reason",
    "Ref",
    "SignatureTree",
    "SourceDiff",
    "Status",
    "StatusGraph",
    "Step",
    "StepOptions",
    "Store",
    "StoreSpec",
    "Style",
    "Target",
    "current_store",
    "diff_css",
    "diff_html",
    "diff_markdown",
    "discover",
    "explain",
    "force_requested",
    "import_store_backend",
    "instance_name",
    "latest_tree",
    "load_refs",
    "make_plan",
    "redact",
    "register_discoverer",
    "s3_options",
    "source_diffs",
    "source_html",
    "sql_url",
    "to_svg",
    "tree_graph",
    "using_instance",
]
