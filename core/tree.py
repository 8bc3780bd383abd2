"""Signature trees: what a signature was made of, and what changed between two of them.

A call's signature is the root of a Merkle tree: it hashes the code graph's digest (which
hashes every reachable node), each argument's digest, and the signatures of upstream results
(an upstream result enters by its own signature, never by rehashing its data).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skipwise import hashing
from skipwise.codegraph import CodeGraph, CodeNode
from skipwise.fresh import PREFIX as FRESH
from skipwise.inputs import Env, File

# The host fact a partition key (Dagster) or a templated partition (Airflow) enters a signature
# as: the same key in both, so a partitioned step signs alike in either host.
PARTITION = "partition"


@dataclass(frozen=True)
class ArgumentRecord:
    type: str
    digest: str
    upstream: tuple[str, ...] = ()  # signatures of stored results this argument carries

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "digest": self.digest}
        if self.upstream:
            data["upstream"] = list(self.upstream)
        return data


@dataclass(frozen=True)
class SignatureTree:
    signature: str
    name: str
    code: CodeGraph
    arguments: Mapping[str, ArgumentRecord]
    version: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    # A lazy step's query (skipwise.lazy.Prepared) as signed: what the store runs on a miss.
    # Not part of the tree's record; its SQL is, in ``extra``.
    query: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        name: str,
        code: CodeGraph,
        arguments: Mapping[str, ArgumentRecord],
        version: str = "",
        extra: Mapping[str, str] | None = None,
    ) -> SignatureTree:
        extra = dict(extra or {})
        digests = {k: argument.digest for k, argument in arguments.items()}
        scheme = hashing.SIGNATURE_SCHEME
        signature = hashing.digest_fields("signature", scheme, code.digest, version, digests, extra)
        return cls(signature, name, code, dict(arguments), version, extra)

    def upstream(self) -> set[str]:
        return {sig for arg in self.arguments.values() for sig in arg.upstream}

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "name": self.name,
            "version": self.version,
            "code": self.code.to_dict(),
            "arguments": {k: a.to_dict() for k, a in sorted(self.arguments.items())},
            "extra": dict(sorted(self.extra.items())),
            "sources": self.code.sources(),
            "warnings": list(self.code.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignatureTree:
        return cls(
            signature=data["signature"],
            name=data["name"],
            code=CodeGraph.from_dict(data["code"], data.get("sources")),
            arguments={
                k: ArgumentRecord(a["type"], a["digest"], tuple(a.get("upstream", ())))
                for k, a in data["arguments"].items()
            },
            version=data.get("version", ""),
            extra=data.get("extra", {}),
        )


@dataclass(frozen=True)
class Change:
    """One difference between a stored tree and the current one."""

    # own-code | code | input | added | removed | argument | upstream | version | extra | fresh
    kind: str
    subject: str
    path: tuple[str, ...] = ()  # from the root function to the changed node
    old: CodeNode | None = None
    new: CodeNode | None = None

    def describe(self) -> str:
        via = f" (via {' -> '.join(self.path[1:-1])})" if len(self.path) > 2 else ""
        kind, _, name = self.subject.partition(":")
        return {
            "own-code": f"own code changed ({self.subject})",
            "code": f"dependency {self.subject} changed{via}",
            "input": f"{_INPUT_NOUNS.get(kind, kind)} {name} changed",
            "added": f"new dependency {self.subject}{via}",
            "removed": f"dependency {self.subject} no longer used",
            "argument": f"argument {self.subject!r} changed",
            "upstream": f"upstream result passed as {self.subject!r} changed",
            "version": f"version changed to {self.subject!r}",
            "extra": f"{self.subject} changed",
            "fresh": f"input {self.subject} is fresher",
        }[self.kind]


# Nodes that stand for data the code reads (skipwise.inputs), not code: a change to one is a
# new input, worded by what it is.
_INPUT_NOUNS = {kind.kind: kind.noun for kind in (File, Env)}
INPUT_KINDS = frozenset(_INPUT_NOUNS)


def diff(old: SignatureTree, new: SignatureTree) -> list[Change]:
    """Changes from ``old`` to ``new``, most direct first."""
    changes: list[Change] = []
    if old.version != new.version:
        changes.append(Change("version", new.version))
    changes += code_changes(old.code, new.code)
    for name in sorted(set(old.arguments) | set(new.arguments)):
        before, after = old.arguments.get(name), new.arguments.get(name)
        if before is None or after is None or before.digest != after.digest:
            kind = "upstream" if after is not None and after.upstream else "argument"
            changes.append(Change(kind, name))
    for key in sorted(set(old.extra) | set(new.extra)):
        if old.extra.get(key) != new.extra.get(key) and not key.startswith(FRESH):
            changes.append(Change("extra", key))
    return changes + fresh_changes(old.extra, new.extra)


def fresh_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    """The fresh inputs (:mod:`skipwise.fresh`) whose value differs between two trees' extras."""
    keys = {key for key in (*old, *new) if key.startswith(FRESH)}
    return [
        Change("fresh", key[len(FRESH) :]) for key in sorted(keys) if old.get(key) != new.get(key)
    ]


def code_changes(old: CodeGraph, new: CodeGraph) -> list[Change]:
    if old.digest == new.digest:
        return []
    new_paths = _paths(new)
    old_paths = _paths(old)
    found: list[Change] = []
    for key in set(old.nodes) | set(new.nodes):
        before, after = old.nodes.get(key), new.nodes.get(key)
        if before is not None and after is not None:
            if before.digest == after.digest and dict(before.refs) == dict(after.refs):
                continue
            kind = "own-code" if key == new.root else "code"
            if after.kind in INPUT_KINDS:
                kind = "input"
            found.append(Change(kind, key, new_paths.get(key, (key,)), before, after))
        elif after is not None:
            found.append(Change("added", key, new_paths.get(key, (key,)), None, after))
        else:
            found.append(Change("removed", key, old_paths.get(key, (key,)), before, None))
    # Content changes before pure re-wiring, nearest to the root first.
    found.sort(
        key=lambda c: (
            c.kind != "own-code",
            c.old is not None and c.new is not None and c.old.digest == c.new.digest,
            c.kind == "removed",
            len(c.path),
            c.subject,
        )
    )
    return found


def _paths(graph: CodeGraph) -> dict[str, tuple[str, ...]]:
    """Shortest reference path from the root to every node."""
    paths = {graph.root: (graph.root,)}
    queue = deque([graph.root])
    while queue:
        key = queue.popleft()
        node = graph.nodes.get(key)
        if node is None:
            continue
        for target in sorted(node.refs.values()):
            if target not in paths:
                paths[target] = (*paths[key], target)
                queue.append(target)
    return paths


def summarize(changes: list[Change]) -> str:
    """A one-line reason, for logs and plan tables."""
    if not changes:
        return "no recorded difference"
    head = changes[0].describe()
    return head if len(changes) == 1 else f"{head} (+{len(changes) - 1} more)"
