"""The code a signature covers, as a graph of hashed nodes.

Every node hashes one piece of user code (a function's normalised AST, a class body, a constant's
value) and names the nodes it refers to. The graph digest covers every node and every reference,
so a helper changed at any depth, or a name rebound to another function, changes the digest.
How the graph is built is in :mod:`skipwise.walker`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skipwise import hashing


@dataclass(frozen=True, slots=True)
class CodeNode:
    """One piece of user code (or an external package) a signature covers."""

    key: str
    kind: (
        str  # function | class | constant | state | partial | wrapper | module | external | unbound
        # | file | env (skipwise.inputs)
    )
    digest: str
    refs: Mapping[str, str]  # label (e.g. "helpers.scale") -> key of the node it resolves to
    source: str = ""  # text shown in diffs
    location: str = ""  # "path/relative/to/package.py:LINE"
    # Reads the source text on demand (only stored results need it), when ``source`` is empty.
    text: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    # The node's contribution to a graph digest: key, kind, digest and every reference.
    line: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        line = hashing.encode(self.key, self.kind, self.digest, self.refs)
        object.__setattr__(self, "line", line)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "digest": self.digest}
        if self.refs:
            data["refs"] = dict(self.refs)
        if self.location:
            data["location"] = self.location
        return data


@dataclass(frozen=True)
class CodeGraph:
    """All code reachable from ``root``; ``digest`` covers every node and every reference."""

    root: str
    digest: str
    nodes: Mapping[str, CodeNode]
    warnings: tuple[str, ...] = ()

    def source(self, key: str) -> str:
        node = self.nodes[key]
        return node.source or (node.text() if node.text is not None else "")

    def sources(self) -> dict[str, str]:
        """Source text by node digest, kept with stored results so diffs can be shown later."""
        texts = {self.nodes[key].digest: self.source(key) for key in self.nodes}
        return {digest: text for digest, text in texts.items() if text}

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "digest": self.digest,
            "nodes": {key: node.to_dict() for key, node in sorted(self.nodes.items())},
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], sources: Mapping[str, str] | None = None
    ) -> CodeGraph:
        sources = sources or {}
        nodes = {
            key: CodeNode(
                key=key,
                kind=raw["kind"],
                digest=raw["digest"],
                refs=raw.get("refs", {}),
                source=sources.get(raw["digest"], ""),
                location=raw.get("location", ""),
            )
            for key, raw in data["nodes"].items()
        }
        return cls(root=data["root"], digest=data["digest"], nodes=nodes)


def graph_digest(nodes: Mapping[str, CodeNode]) -> str:
    """Every node's record, by key (records are self-delimiting, so they concatenate)."""
    return hashing.digest_encoded(
        "code-graph", b"".join([nodes[key].line for key in sorted(nodes)])
    )
