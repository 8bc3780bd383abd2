"""One framing for every digest that goes into a signature: typed, length-prefixed parts,
written only in ``skipwise.hashing``."""

from __future__ import annotations

import ast
import importlib.util
import types
from pathlib import Path

import pytest

from skipwise import hashing
from skipwise.codegraph import CodeGraph, CodeNode, graph_digest
from skipwise.tree import ArgumentRecord, SignatureTree

CORE = Path(hashing.__file__).resolve().parent
# The hosts' packages too: they sign through skipwise and must not hash on their own.
HOSTS = [
    Path(folder).resolve()
    for name in ("skipwise.airflow", "skipwise.dagster")
    for folder in importlib.util.find_spec(name).submodule_search_locations  # type: ignore[union-attr]
]
# Hash libraries, which only hashing.py may use to frame digests.
HASH_MODULES = {"blake3", "hashlib", "hmac", "zlib", "xxhash", "mmh3"}
# Not signature framing: manifests' HMAC (a store's integrity key, not part of any signature).
ALLOWED = {"hashing.py", "store/signing.py"}


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


def _calls_of(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and name in (getattr(node.func, "attr", None), getattr(node.func, "id", None))
    ]


def _sources(*folders: Path) -> list[Path]:
    return sorted({p.resolve() for folder in folders for p in folder.rglob("*.py")})


def test_only_hashing_frames_digests() -> None:
    offenders = {
        str(path): sorted(_imported_modules(path) & HASH_MODULES)
        for path in _sources(CORE, *HOSTS)
        if not any(path == CORE / allowed for allowed in ALLOWED)
    }
    assert {path: used for path, used in offenders.items() if used} == {}
    assert len(offenders) > 20  # the scan found the sources


def test_untyped_parts_only_name_things_in_stores() -> None:
    """``digest_parts`` (no type tags) is frozen for store names and locks; signatures use
    ``digest_fields``."""
    outside_stores = {
        str(path): _calls_of(path, "digest_parts")
        for path in _sources(CORE, *HOSTS)
        if path.parent != CORE / "store" and path != CORE / "hashing.py"
    }
    assert {path: lines for path, lines in outside_stores.items() if lines} == {}


def test_the_scan_sees_a_module_that_frames_its_own_digests(tmp_path: Path) -> None:
    rogue = tmp_path / "rogue.py"
    rogue.write_text("import blake3\nfrom hashlib import sha256\n")
    assert _imported_modules(rogue) & HASH_MODULES == {"blake3", "hashlib"}


def test_type_tags_count() -> None:
    digests = {hashing.digest_fields("k", part) for part in (b"1", "1", 1)}
    assert len(digests) == 3


def test_part_boundaries_count() -> None:
    splits = [("ab", "c"), ("a", "bc"), ("abc",), ("abc", ""), ("", "abc")]
    assert len({hashing.digest_fields("k", *parts) for parts in splits}) == len(splits)


def test_kinds_count() -> None:
    assert hashing.digest_fields("function", "x") != hashing.digest_fields("class", "x")
    assert hashing.digest_fields("ab", "c") != hashing.digest_fields("a", "bc")


@pytest.mark.parametrize("part", [True, None, 1.0, ["a"]])
def test_only_str_bytes_and_int_are_parts(part: object) -> None:
    with pytest.raises(TypeError):
        hashing.encode(part)  # type: ignore[arg-type]


def test_subclasses_and_other_mappings_frame_as_their_base() -> None:
    class Key(str):
        pass

    class Size(int):
        pass

    assert hashing.encode(Key("p"), Size(3)) == hashing.encode("p", 3)
    proxy = types.MappingProxyType({Key("b"): Key("x"), "a": "y"})
    assert hashing.encode(proxy) == hashing.encode({"a": "y", "b": "x"})


def test_framer_fields_frame_tags_and_lengths() -> None:
    def framed(*fields: tuple[bytes, str | bytes]) -> str:
        framer = hashing.Framer("value")
        for tag, payload in fields:
            framer.field(tag, payload)
        return framer.hexdigest()

    variants = [framed((b"d", "fx")), framed((b"df", "x")), framed((b"d", "f"), (b"x", ""))]
    assert len(set(variants)) == len(variants)


def test_a_streamed_buffer_frames_like_a_field() -> None:
    whole, streamed = hashing.Framer("value"), hashing.Framer("value")
    whole.field(b"B", bytes(range(256)) * 3)
    streamed.buffer(b"B", memoryview(bytearray(range(256)) * 3))
    assert whole.hexdigest() == streamed.hexdigest()


def _node(key: str, refs: dict[str, str]) -> CodeNode:
    return CodeNode(key, "function", "d", refs)


def test_graph_node_records_do_not_run_into_each_other() -> None:
    # The same strings, split between a node's references and the next node's fields.
    a = {"m:a": _node("m:a", {"x": "m:b"}), "m:b": _node("m:b", {})}
    b = {"m:a": _node("m:a", {}), "m:b": _node("m:b", {"x": "m:b"})}
    assert graph_digest(a) != graph_digest(b)


def test_signature_parts_keep_arguments_and_host_facts_apart() -> None:
    graph = CodeGraph("m:f", "g", {})
    argument = {"p": ArgumentRecord("builtins.str", "v")}
    as_argument = SignatureTree.build("f", graph, argument)
    as_fact = SignatureTree.build("f", graph, {}, extra={"p": "v"})
    as_version = SignatureTree.build("f", graph, {}, version="1")
    assert len({as_argument.signature, as_fact.signature, as_version.signature}) == 3


def test_the_framing_is_pinned_to_the_scheme() -> None:
    """Changing how digests are framed changes every signature: bump SIGNATURE_SCHEME (and the
    Changelog in docs/signatures.md), then update this pin."""
    pinned = hashing.digest_fields("pin", "1", b"1", 1)
    framer = hashing.Framer("pin")
    framer.field(b"t", "1")
    framer.buffer(b"B", b"1")
    assert (hashing.SIGNATURE_SCHEME, pinned, framer.hexdigest()) == (
        b"skipwise-signature-v2",
        "e50574d7e92f96317eda593c2ba760400bcb922c36818deedf5a2e07b34a765a",
        "7ec7f3a56cb4c4e971bfe3a8c89551315bbc61d628de183fb151bb0d9afc6701",
    )


def test_store_checksums_are_unchanged(tmp_path: Path) -> None:
    """Checksums of stored data are not signatures: existing stores must still verify."""
    empty = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    assert hashing.digest_bytes(b"") == empty
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert hashing.file_digest(path) == empty
    # Store names (a SQL view's suffix) and locks: also frozen.
    view = "237f97266905eb9cdb8c9eebb9e74f03222f4c10497c637537eced6c9a4f4b60"
    assert hashing.digest_parts(["view", "x"]) == view


@pytest.mark.parametrize("size", [0, 127, 128, 16_383, 16_384, 2**35])
def test_lengths_are_prefix_free(size: int) -> None:
    """Lengths are LEB128: a short part costs one byte, and no length is a prefix of another."""
    length = hashing._length(size)
    assert all(byte & 0x80 for byte in length[:-1]) and not length[-1] & 0x80
    assert sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(length)) == size


@pytest.mark.parametrize(
    "mapping",
    [
        {"b": "x", "a": "y"},
        {"a": "y" * 200, "b": "x"},
        {"a": "é", "b": "x"},
        {"a": 1, "b": b"x"},
        {"a": {"b": "c"}},
        {},
    ],
)
def test_a_mapping_is_its_size_then_its_items_sorted_by_key(mapping: dict) -> None:
    """Short ASCII text takes a quicker path to the same bytes as part by part."""
    items = [part for key in sorted(mapping) for part in (key, mapping[key])]
    encoded = hashing.encode(mapping)
    assert encoded[3:] == hashing.encode(*items)  # 3: the mapping's tag and its size
    assert encoded == hashing.encode(dict(reversed(mapping.items())))


def test_parts_encoded_beforehand_digest_alike() -> None:
    parts = ("m:f", 3, b"\x00", {"a": "b"})
    assert hashing.digest_encoded("k", hashing.encode(*parts)) == hashing.digest_fields("k", *parts)


@pytest.mark.parametrize(
    "parts",
    [
        ("m:f", "function", "0" * 64, {"helper": "m:helper", "math.sqrt": "external:math.sqrt"}),
        ("é", {"k": "v"}),
        ("x" * 127, "y" * 128),
        ({"k": b"v"}, "a"),
        ({"k": {"n": "v"}},),
        (b"raw", 7, {}),
    ],
)
def test_text_takes_a_shortcut_to_the_same_bytes(parts: tuple) -> None:
    assert hashing.encode(*parts) == hashing._framed(parts)
