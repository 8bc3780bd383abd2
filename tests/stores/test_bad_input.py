"""Bad input gives a skipwise error that names what is at fault, never a raw Python error: odd
names, arguments, store URLs and signing keys, fuzzed with hypothesis; manifests fuzzed with
atheris (and hypothesis, in process)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skipwise import InvalidName, StoreError, cached, configure
from skipwise.config import current_store
from skipwise.store import CorruptEntry, Manifest, open_store, validate_name
from skipwise.store.base import MAX_NAME_SEGMENTS

SIGNATURE = "ab" * 32
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@cached(name="inputs.echo")
def echo(value: Any) -> int:
    return 1


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# --- names ----------------------------------------------------------------------------------


def test_a_name_of_2000_segments() -> None:
    name = "/".join(["a"] * 2000)
    with pytest.raises(InvalidName, match=f"2000 segments.*at most {MAX_NAME_SEGMENTS}"):
        cached(name=name)(lambda: 1)
    with pytest.raises(InvalidName, match="too long"):
        open_store("memory://names").pointer(name)


@FUZZ
@given(
    st.one_of(
        st.text(),
        st.from_regex(
            r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,30}(/[A-Za-z0-9_.\-]{1,20}){0,40}", fullmatch=True
        ),
    )
)
def test_fuzzed_names(name: str) -> None:
    """A name is refused with InvalidName or works as a pointer's name in a local store."""
    try:
        validate_name(name)
    except InvalidName:
        return
    store = open_store(f"memory://fuzzed-names/{abs(hash(name))}")
    store.set_pointer(name, SIGNATURE)
    assert store.pointer(name).signature == SIGNATURE
    assert [p.name for p in store.pointers()] == [name]


# --- arguments ------------------------------------------------------------------------------


def test_huge_integer_argument_is_signed() -> None:
    assert echo.signature(10**100000) != echo.signature(10**100000 + 1)
    assert echo.signature(10**100000) == echo.signature(10**100000)
    assert echo.signature(2**14000) != echo.signature(2**14000 + 1)  # either side of hex


def test_deeply_nested_argument_names_itself() -> None:
    with pytest.raises(TypeError, match="argument 'value' of type list nested more than"):
        echo.signature(nested(5000))
    assert echo.signature(nested(50)) != echo.signature(nested(51))


ARGUMENTS = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**4000, max_value=10**5000),
        st.floats(allow_nan=False),
        st.text(),
        st.binary(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
        st.integers(0, 300).map(nested),
    ),
    max_leaves=20,
)


@FUZZ
@given(ARGUMENTS)
def test_fuzzed_arguments(value: Any) -> None:
    """An argument is signed, the same way each time, or refused with a TypeError naming it."""
    try:
        signature = echo.signature(value)
    except TypeError as exc:
        assert "cannot hash argument 'value'" in str(exc)
        return
    assert echo.signature(value) == signature


# --- store URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,words",
    [
        ("", "is not blank"),
        ("   ", "is not blank"),
        (" .skipwise", "spaces around it"),
        ("~nosuchuser/x", "~nosuchuser"),
        ("postgresql://u@db.example:port/x", "port is not a number"),
        ("cache\0dir", "null"),
    ],
)
def test_bad_store_urls(url: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=words):
        open_store(url)
    if url.strip() and "\0" not in url:  # what the environment can hold
        monkeypatch.setenv("SKIPWISE_STORE", url)
        with pytest.raises(StoreError, match=words):
            echo(1)
    assert os.listdir(tmp_path) == []  # nothing was written where the URL led


SCHEMES = ["", "file://", "memory://", "s3://", "gs://", "az://", "sqlite://", "postgresql://"]


@FUZZ
@given(st.sampled_from(SCHEMES), st.text())
def test_fuzzed_store_urls(scheme: str, rest: str) -> None:
    """Opening any URL gives a store or a StoreError (nothing is written by opening)."""
    with contextlib.suppress(StoreError):
        open_store(scheme + rest)


# --- signing keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key,words", [("", "is empty"), ("   ", "is empty"), ("s3cret", "6 bytes long")]
)
def test_empty_or_short_signing_key_is_refused(
    key: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protocol checks the key, for every backend (the toy backend in
    test_protocol_hardening.py too)."""
    store_url = f"sqlite:///{tmp_path}/keyed.db"
    monkeypatch.setenv("SKIPWISE_SIGNING_KEY", key)
    configure(store=store_url)
    with pytest.raises(StoreError, match=f"signing key .* {words}: use at least 16 bytes"):
        echo(2)
    monkeypatch.delenv("SKIPWISE_SIGNING_KEY")
    configure(signing_key=key)
    with pytest.raises(StoreError, match=words):
        current_store()
    with pytest.raises(StoreError, match=words):
        open_store(store_url, signing_key=key)


def test_sqlite_stores_are_shared(tmp_path: Path) -> None:
    assert open_store(f"sqlite:///{tmp_path}/shared.db").shared


# --- manifests ------------------------------------------------------------------------------


KEYED = open_store("memory://keyed-manifests", signing_key=b"fuzzing key, 16+ bytes")


def valid_manifest() -> dict[str, Any]:
    manifest = KEYED.save(SIGNATURE, [1], codec="json", name="m", tree={}, producer={})
    return json.loads(manifest.to_json())


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.text(st.characters(categories=["Cs"])),  # lone surrogates: valid JSON escapes
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(st.data())
def test_fuzzed_manifest_fields(data: st.DataObject) -> None:
    """A signed manifest with any field (or its HMAC) changed to any JSON value, or removed,
    is read as a well-formed manifest or refused as a CorruptEntry."""
    body = valid_manifest()
    place = body["extra"] if data.draw(st.booleans()) else body
    field = data.draw(st.sampled_from(sorted(place)))
    if data.draw(st.booleans()):
        del place[field]
    else:
        place[field] = data.draw(JSON)
    for store in (KEYED, open_store("memory://keyed-manifests")):
        try:
            manifest = store._parsed(SIGNATURE, json.dumps(body))
        except CorruptEntry:
            continue
        assert isinstance(manifest.extra, dict) and isinstance(manifest.size, int)


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzzed_manifest_bytes(raw: bytes) -> None:
    with pytest.raises(CorruptEntry):
        Manifest.from_json(raw, "fuzz")


def test_atheris_fuzzes_the_manifest_reader(tmp_path: Path) -> None:
    """libFuzzer-guided bytes as a stored manifest (tests/stores/fuzz_manifest.py)."""
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    words = [*valid_manifest(), "hmac", "pickle", "bytes", "..", "/", "-1", "1e999", "[]", "{}"]
    dictionary = tmp_path / "manifest.dict"
    dictionary.write_text("".join(f"{json.dumps(json.dumps(w))}\n" for w in words))
    harness = Path(__file__).with_name("fuzz_manifest.py")
    result = subprocess.run(
        [sys.executable, str(harness), str(corpus), "-runs=2000", f"-dict={dictionary}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 2000 runs" in result.stderr
