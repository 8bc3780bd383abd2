"""``fresh=``: external sources that skipwise does not manage, told fresh by cheap functions
whose values are named parts of the signature. The helpers on real servers: SQLite and
PostgreSQL (a database of its own), S3 on a moto server, a local folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa

import skipwise
from skipwise import fresh
from skipwise.fresh import FreshError
from tests.stores.conftest import new_bucket
from tests.stores.servers import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def source_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A production-like database with an ``orders`` table, not a skipwise store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
    else:
        name = request.getfixturevalue("source_pg")
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id INTEGER, updated_at TIMESTAMP)")
        conn.exec_driver_sql("INSERT INTO orders VALUES (1, '2024-01-01 10:00:00')")
    engine.dispose()
    return url


@pytest.fixture
def source_pg():
    with scratch_database("skipwise_fresh") as name:
        yield name


def execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def test_a_fresher_table_reruns_and_says_why(source_db: str) -> None:
    runs = []

    @skipwise.cached(fresh=fresh.sql_table(source_db, "orders", "updated_at"))
    def report(source=source_db):
        runs.append(1)
        with sa.create_engine(source).connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()

    assert report.run().value == 1
    assert report.run().status == "reused"
    assert len(runs) == 1
    tree = report.tree()
    assert list(tree.extra) == ["fresh:table orders max(updated_at)"]

    # A row updated in place: same count, a newer maximum.
    execute(source_db, "UPDATE orders SET updated_at = '2024-01-02 00:00:00'")
    outcome = report.run()
    assert outcome.status == "computed"
    assert outcome.reason == "input table orders max(updated_at) is fresher"
    assert [(c.kind, c.subject) for c in outcome.changes] == [
        ("fresh", "table orders max(updated_at)")
    ]
    # A row added with an older date: the count says so.
    execute(source_db, "INSERT INTO orders VALUES (2, '2023-01-01 00:00:00')")
    assert report.run().value == 2
    assert report.run().status == "reused"
    assert len(runs) == 3


def test_row_count_alone_and_an_engine(source_db: str) -> None:
    engine = sa.create_engine(source_db)
    counted = fresh.sql_table(engine, "orders")
    assert counted.name == "table orders"
    assert counted() == (1,)
    execute(source_db, "INSERT INTO orders VALUES (2, NULL)")
    assert counted() == (2,)
    engine.dispose()


def test_s3_prefix_lists_etags(aws_env: str) -> None:
    bucket = new_bucket(aws_env)
    client = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key="raw/a.csv", Body=b"x,1\n")
    client.put_object(Bucket=bucket, Key="other/b.csv", Body=b"not listed\n")
    runs = []
    listing = fresh.s3_prefix(f"s3://{bucket}/raw/")

    @skipwise.cached(fresh=listing)
    def load():
        runs.append(1)
        return len(runs)

    assert listing.name == f"s3://{bucket}/raw"
    assert [name for name, _, _ in listing()] == ["a.csv"]
    load()
    assert load.run().status == "reused"
    client.put_object(Bucket=bucket, Key="other/b.csv", Body=b"changed elsewhere\n")
    assert load.run().status == "reused"  # outside the prefix
    client.put_object(Bucket=bucket, Key="raw/a.csv", Body=b"x,2\n")  # same size, new ETag
    outcome = load.run()
    assert (outcome.status, outcome.reason) == (
        "computed",
        f"input s3://{bucket}/raw is fresher",
    )
    client.put_object(Bucket=bucket, Key="raw/b.csv", Body=b"")
    assert load.run().status == "computed"
    assert load.run().status == "reused"
    with pytest.raises(ValueError, match="s3:// URL"):
        fresh.s3_prefix("/local/path")


def test_a_folder_by_content_sees_a_rewrite_that_keeps_size_and_time(tmp_path: Path) -> None:
    data = tmp_path / "incoming"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n")
    by_content, by_stat = fresh.folder(str(data)), fresh.folder(str(data), by="stat")
    before = (by_content(), by_stat())
    stamp = os.stat(data / "a.csv")
    (data / "a.csv").write_text("1,3\n")  # same size; then the old times back (cp -p)
    os.utime(data / "a.csv", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert by_content() != before[0]
    assert by_stat() == before[1]  # the documented blind spot of by="stat"
    (data / "sub").mkdir()
    (data / "sub" / "b.csv").write_text("new")
    assert by_stat() != before[1]
    assert [name for name, _, _ in by_stat()] == ["a.csv", "sub/b.csv"]
    with pytest.raises(ValueError, match="'content' or 'stat'"):
        fresh.folder(str(data), by="mtime")


def test_several_fresh_functions_named_by_a_dict(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()

    @skipwise.cached(fresh={"landing": fresh.folder(str(a)), "archive": fresh.folder(str(b))})
    def merge():
        return sorted(os.listdir(a)) + sorted(os.listdir(b))

    merge()
    (b / "old.csv").write_text("x")
    outcome = merge.run()
    assert outcome.reason == "input archive is fresher"
    assert sorted(merge.tree().extra) == ["fresh:archive", "fresh:landing"]


def test_a_failing_fresh_function_names_the_task_and_the_function(tmp_path: Path) -> None:
    def orders_watermark():
        raise ConnectionError("database is down")

    @skipwise.cached(name="shop.report", fresh=orders_watermark)
    def report():
        raise AssertionError("never runs")

    with pytest.raises(
        FreshError,
        match=r"shop\.report: fresh function .orders_watermark' failed: ConnectionError: database is down",
    ):
        report()
    with pytest.raises(FreshError, match=r"shop\.report: fresh function 'missing' failed"):
        skipwise.cached(name="shop.report", fresh={"missing": fresh.folder(str(tmp_path / "no"))})(
            lambda: 1
        )()
    with pytest.raises(FreshError, match=r"shop\.report: fresh function 'opaque' returned a value"):
        skipwise.cached(name="shop.report", fresh={"opaque": lambda: object()})(lambda: 1)()
    with pytest.raises(TypeError, match=r"shop\.report: fresh= takes a function"):
        skipwise.cached(name="shop.report", fresh="orders")(lambda: 1)
    # Nothing was stored for any of them.
    assert list(skipwise.open_store(os.environ["SKIPWISE_STORE"]).manifests()) == []


PIPELINE = """
    import skipwise
    from skipwise import fresh

    SOURCE = {source!r}

    @skipwise.cached(fresh=fresh.sql_table(SOURCE, "orders", "updated_at"))
    def orders_report():
        import sqlalchemy as sa
        with sa.create_engine(SOURCE).connect() as conn:
            return [conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()]

    @skipwise.cached
    def summary(counts):  # a list result: passed on by lineage, an upstream edge in plans
        return {{"orders": counts[0]}}

    @skipwise.cached(fresh=fresh.sql_table(SOURCE, "orders"))
    def not_called():
        return 0

    if __name__ == "__main__":
        summary(orders_report())
        not_called()
"""


def skipwise_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "skipwise.cli", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return result


def test_plan_evaluates_fresh_functions_and_says_which_input_is_fresher(
    source_db: str, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "shop.py").write_text(textwrap.dedent(PIPELINE.format(source=source_db)))
    subprocess.run([sys.executable, "shop.py"], cwd=folder, check=True)

    def plan() -> dict[str, tuple[str, str]]:
        items = json.loads(skipwise_cli(folder, "plan", "shop.py", "-f", "json").stdout)["items"]
        return {item["label"].split(".")[-1]: (item["status"], item["cause"]) for item in items}

    assert {s for s, _ in plan().values()} == {"reuse"}
    execute(source_db, "INSERT INTO orders VALUES (2, '2025-01-01 00:00:00')")
    planned = plan()
    assert planned["orders_report"] == (
        "rerun-input",
        "input table orders max(updated_at) is fresher",
    )
    assert planned["summary"][0] == "rerun-upstream"
    assert planned["not_called"] == ("rerun-input", "input table orders is fresher")
    text = skipwise_cli(folder, "plan", "shop.py").stdout
    assert "input table orders max(updated_at) is fresher" in text
    explained = skipwise_cli(folder, "explain", "shop.orders_report").stdout
    assert "input table orders max(updated_at) is fresher" in explained
