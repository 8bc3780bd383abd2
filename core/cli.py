"""The ``skipwise`` command: plan, explain, ls, show, gc."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.syntax import Syntax
from rich.table import Table

from skipwise import config, gc, graph, plan
from skipwise.engine import latest_tree
from skipwise.errors import SkipwiseError
from skipwise.status import Status
from skipwise.store import Manifest, Store, open_store
from skipwise.tree import Change, SignatureTree, code_changes

app = typer.Typer(
    help="Skip pipeline work whose code and inputs have not changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()
errors = Console(stderr=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", "-s", help="Store URL (default: $SKIPWISE_STORE, else ./.skipwise)."),
]


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"


def _status_text(status: Status) -> str:
    """The status's word in its picture colour."""
    return f"[{status.style.stroke}]{status.style.short}[/]"


def _store(url: str | None) -> Store:
    return open_store(url) if url else config.current_store()


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=errors,
        transient=True,
    )


@app.command("plan")
def plan_command(
    target: Annotated[str, typer.Argument(help="A module name or a .py file (e.g. a DAG file).")],
    store: StoreOption = None,
    format: Annotated[PlanFormat, typer.Option("--format", "-f")] = PlanFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """Show which tasks will rerun and why, without running any of them."""
    the_store = _store(store)
    module = plan.load_module(target)
    targets = plan.discover(module)
    if not targets:
        raise SkipwiseError(f"no skipwise-managed functions or tasks found in {target}")
    with _progress() as progress:
        task = progress.add_task("analysing", total=len(targets))

        def step(name: str) -> None:
            progress.update(task, advance=1, description=f"analysing {name}")

        result = plan.make_plan(targets, the_store, target, step)
    rendered = _render_plan(result, format)
    if output:
        output.write_text(rendered)
        errors.print(f"wrote {output}")
    elif rendered:
        console.out(rendered, end="")


def _render_plan(result: plan.Plan, fmt: PlanFormat) -> str:
    if fmt is PlanFormat.json:
        return result.to_json()
    if fmt is PlanFormat.markdown:
        return _plan_markdown(result)
    if fmt is PlanFormat.dot:
        return graph.to_dot(result.status_graph(), title=result.target)
    if fmt is PlanFormat.mermaid:
        return graph.to_mermaid(result.status_graph())
    if fmt is PlanFormat.svg:
        return graph.to_svg(result.status_graph(), title=f"skipwise plan: {result.target}")
    table = Table(title=f"skipwise plan: {result.target}", caption=f"store: {result.store}")
    table.add_column("task")
    table.add_column("status")
    table.add_column("why")
    for item in result.items:
        table.add_row(item.label, _status_text(item.status), item.cause)
    console.print(table)
    return ""


def _plan_markdown(result: plan.Plan) -> str:
    summary = result.to_dict()["summary"]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.items()))
    lines = [
        f"### skipwise plan: `{result.target}`",
        "",
        f"{counts} (store `{result.store}`)",
        "",
        "| task | status | why |",
        "| --- | --- | --- |",
    ]
    for item in result.items:
        word = item.status.style.short
        status = f"**{word}**" if item.status.runs else word
        cause = item.cause.replace("|", "\\|")
        lines.append(f"| `{item.label}` | {status} | {cause} |")
    return "\n".join(lines) + "\n"


@app.command()
def explain(
    name: Annotated[str, typer.Argument(help="A result name (see `skipwise ls`).")],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Module or file defining it.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Show which dependency changed since NAME's stored result, with a source diff."""
    the_store = _store(store)
    stored = latest_tree(the_store, name)
    if stored is None:
        raise SkipwiseError(f"no stored result named {name!r} in {the_store.url}")
    module = plan.load_module(target or stored.code.root.partition(":")[0])
    found = {t.name: t for t in plan.discover(module)}
    if name not in found:
        raise SkipwiseError(f"{name!r} is not defined in {module.__name__}; pass --target")
    current = found[name].code()
    changes = code_changes(stored.code, current)
    console.print(f"[bold]{name}[/]  stored {stored.signature[:12]}")
    if not changes:
        console.print(
            "[green]code unchanged[/]: a call reuses the stored result unless its arguments "
            "or upstream results differ"
        )
        return
    for change in changes:
        console.print(f"[red]•[/] {change.describe()}")
        before = stored.code.source(change.subject) if change.old else ""
        after = current.source(change.subject) if change.new else ""
        _print_diff(change, before, after)


def _print_diff(change: Change, before: str, after: str) -> None:
    if not before and not after:
        return
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{change.subject} (stored)",
            tofile=f"{change.subject} (now)",
        )
    )
    if diff:
        console.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))


@app.command("ls")
def list_command(store: StoreOption = None) -> None:
    """List named results with their latest signature."""
    the_store = _store(store)
    table = Table(title=f"skipwise store: {the_store.url}")
    for column in ("name", "signature", "created", "codec", "size", "by"):
        table.add_column(column)
    for pointer in the_store.pointers():
        manifest = the_store.manifest(pointer.signature)
        if manifest is None:
            table.add_row(pointer.name, pointer.signature[:12], "[red]missing[/]", "", "", "")
            continue
        table.add_row(
            pointer.name,
            pointer.signature[:12],
            manifest.created_at,
            manifest.codec,
            _size(manifest.size),
            manifest.producer_text(),
        )
    console.print(table)


@app.command()
def show(
    signature: Annotated[str, typer.Argument(help="A signature, a unique prefix, or a name.")],
    store: StoreOption = None,
) -> None:
    """Show a stored result's manifest and signature tree."""
    the_store = _store(store)
    manifest = _find_manifest(the_store, signature)
    raw = the_store.tree(manifest)
    console.print_json(manifest.to_json().decode())
    if raw:
        tree = SignatureTree.from_dict(raw)
        table = Table(title=f"signature tree of {tree.name}")
        for column in ("part", "kind", "digest"):
            table.add_column(column)
        for key, node in sorted(tree.code.nodes.items()):
            table.add_row(key, node.kind, node.digest[:12])
        for arg, record in tree.arguments.items():
            kind = "upstream" if record.upstream else f"argument ({record.type})"
            table.add_row(arg, kind, record.digest[:12])
        console.print(table)


def _find_manifest(store: Store, text: str) -> Manifest:
    if re.fullmatch(r"[0-9a-f]{64}", text):
        manifest = store.manifest(text)
    elif re.fullmatch(r"[0-9a-f]{4,63}", text):
        matches = [m for m in store.manifests() if m.signature.startswith(text)]
        if len(matches) > 1:
            raise SkipwiseError(f"{text!r} matches {len(matches)} signatures; give more digits")
        manifest = matches[0] if matches else None
    else:
        pointer = store.pointer(text)
        manifest = store.manifest(pointer.signature) if pointer else None
    if manifest is None:
        raise SkipwiseError(f"nothing stored for {text!r} in {store.url}")
    return manifest


_DURATION = re.compile(r"(\d+)([dhms])")


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r}: use a number and d, h, m or s, e.g. 30d")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(seconds=amount * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit])


@app.command("gc")
def gc_command(
    store: StoreOption = None,
    keep_latest: Annotated[
        int | None, typer.Option(help="Per name, keep the latest N results.", min=1)
    ] = None,
    older_than: Annotated[
        str | None, typer.Option(help="Drop results created before this age, e.g. 30d.")
    ] = None,
    leftover_grace: Annotated[
        str,
        typer.Option(help="Leave uncommitted files younger than this (a writer may be busy)."),
    ] = "1h",
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--delete", help="Only report (default), or delete.")
    ] = True,
) -> None:
    """Remove old results and crashed writers' leftovers; never what a name points to."""
    the_store = _store(store)
    policy = gc.Policy(
        keep_latest=keep_latest,
        older_than=_duration(older_than),
        leftover_grace=_duration(leftover_grace),
    )
    with _progress() as progress:
        task = progress.add_task("scanning", total=None)
        report = gc.plan_collection(the_store, policy, lambda: progress.advance(task))
    verb = "would remove" if dry_run else "removing"
    console.print(
        f"{verb} {len(report.drop)} result(s) and {len(report.leftovers)} leftover file(s), "
        f"{_size(report.reclaimed_bytes)}; keeping {len(report.keep)} result(s)"
    )
    for manifest in report.drop:
        console.print(f"  result {manifest.signature[:12]} {manifest.name} ({manifest.created_at})")
    for leftover in report.leftovers:
        console.print(f"  leftover {leftover.path}")
    if not dry_run:
        with _progress() as progress:
            total = len(report.drop) + len(report.leftovers)
            task = progress.add_task("removing", total=total)
            gc.collect(the_store, report, lambda: progress.advance(task))
        console.print("done")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def main() -> None:
    try:
        app()
    except SkipwiseError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
