"""The ``skipwise`` command: plan, explain, ls, show, gc.

A user's mistake (a missing file, a syntax error in the target, an unknown name, a bad store
URL, a missing extra) is one line on stderr and exit code 2; ``skipwise --debug ...`` shows
the traceback instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.syntax import Syntax
from rich.table import Table

import skipwise
from skipwise import config, explanation, extras, gc, graph, importing, plan, selection
from skipwise.codegraph import CodeGraph
from skipwise.engine import latest_tree
from skipwise.errors import SkipwiseError
from skipwise.status import Status
from skipwise.store import Manifest, Store
from skipwise.tree import SignatureTree

app = typer.Typer(
    help="Skip pipeline work whose code and inputs have not changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()
errors = Console(stderr=True)


@dataclass
class _Options:
    debug: bool = False  # --debug: tracebacks instead of one line


_options = _Options()


def _print_version(value: bool) -> None:
    if value:
        console.out(f"skipwise {skipwise.__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="On an error, show the traceback.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Skip pipeline work whose code and inputs have not changed."""
    _options.debug = debug


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        "-s",
        help="Store URL (default: $SKIPWISE_STORE, else .skipwise/ at the project root).",
    ),
]


InstanceOption = Annotated[
    str | None,
    typer.Option(
        "--instance",
        "-i",
        help="Pipeline instance, e.g. mini (default: $SKIPWISE_INSTANCE, else the unnamed one).",
    ),
]


def _instance(name: str | None) -> str:
    """``--instance`` made the configured instance; the instance's name ("" if unnamed)."""
    if name is not None:
        config.configure(instance=name)
    return config.instance_name()


def _instance_text(name: str) -> str:
    return name or "(unnamed)"


class PlanFormat(StrEnum):
    table = "table"  # the terminal table
    text = "text"  # the table's former name
    json = "json"
    markdown = "markdown"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"


def _status_text(status: Status) -> str:
    """The status's word in its picture colour."""
    return f"[{status.style.stroke}]{status.style.short}[/]"


def _store(url: str | None, *, read_only: bool = False) -> Store:
    """The store given by ``--store``, else the configured one; made the configured one, so
    that cached calls recorded by plan look results up there too."""
    if url:
        config.configure(store=url)
    if read_only:
        config.configure(read_only=True)
    return config.current_store()


def _store_origin(url: str | None) -> str:
    return "from --store" if url else config.store_origin()


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
    format: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="table (alias: text), json, ...")
    ] = PlanFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select", help="Names, labels or globs; +NAME adds upstream, NAME+ downstream."
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if anything will rerun (for CI).")
    ] = False,
    instance: InstanceOption = None,
) -> None:
    """Show which tasks will rerun and why, without running any of them."""
    _instance(instance)
    the_store = _store(store, read_only=True)
    targets = importing.targets_of(target)
    if not targets:
        raise SkipwiseError(f"no skipwise-managed functions or tasks found in {target}")
    with _progress() as progress:
        task = progress.add_task("analysing", total=len(targets))

        def step(name: str) -> None:
            progress.update(task, advance=1, description=f"analysing {name}")

        result = plan.make_plan(targets, the_store, target, step)
    result = selection.select(result, select or [])
    rendered = _render_plan(result, format)
    if output:
        output.write_text(rendered)
        errors.print(f"wrote {output}")
    elif rendered:
        console.out(rendered, end="")
    if check and any(item.status.runs for item in result.items):
        raise typer.Exit(1)


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
    table = Table(
        title=f"skipwise plan: {result.target}",
        caption=f"store: {result.store}, instance: {_instance_text(result.instance)}",
    )
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
        f"{counts} (store `{result.store}`, instance {_instance_text(result.instance)})",
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
    name: Annotated[
        str, typer.Argument(help="A result name (see `skipwise ls`), or a task id plan printed.")
    ],
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="The module or file plan read (for a task id)."),
    ] = None,
    store: StoreOption = None,
    instance: InstanceOption = None,
) -> None:
    """Say what NAME's next run does and why (as plan does), with a diff of what changed."""
    _instance(instance)
    the_store = _store(store, read_only=True)
    if target:
        targets = importing.targets_of(target)
    else:
        stored = latest_tree(the_store, name)
        if stored is None:
            raise SkipwiseError(
                f"no stored result named {name!r} in {the_store.url} "
                "(for a task id, pass --target with the file plan read)"
            )
        module = stored.code.root.partition(":")[0]
        targets = importing.targets_defining(name, module)
        if not targets:
            raise SkipwiseError(
                f"{name!r} is not defined in {module} or its package; pass --target"
            )
    result = plan.make_plan(targets, the_store, target or name)
    item = result.item(name)
    if item is None:
        raise SkipwiseError(f"{name!r} is no task of {target}: see `skipwise plan {target}`")
    _print_explanation(result, item, {t.name: t for t in targets}, the_store)


def _print_explanation(
    result: plan.Plan, item: plan.PlanItem, targets: dict[str, plan.Target], store: Store
) -> None:
    """The item's plan line; for a rerun caused upstream, the upstream that causes it; then
    each change of the task that changed, with a source diff (see :mod:`skipwise.explanation`)."""
    title = item.label if item.label == item.name else f"{item.label} ({item.name})"
    stored = f"  stored {item.stored_signature[:12]}" if item.stored_signature else ""
    console.print(f"[bold]{escape(title)}[/]{stored}")
    console.print(f"{_status_text(item.status)}: {escape(item.cause)}")
    if item.status is Status.REUSE:
        console.print(
            "[green]code unchanged[/]: a call reuses the stored result unless its arguments "
            "or upstream results differ"
        )
        return
    found = explanation.explain(result, item, store, lambda name: _code_of(targets.get(name)))
    if found.origin is not item:
        console.print(f"because {escape(found.origin.label)}: {escape(found.origin.cause)}")
    for diff in found.diffs:
        console.print(f"[red]•[/] {escape(diff.text)}")
        if text := diff.unified():
            console.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))


def _code_of(target: plan.Target | None) -> CodeGraph | None:
    return target.code() if target is not None and target.code is not None else None


@app.command("ls")
def list_command(store: StoreOption = None, instance: InstanceOption = None) -> None:
    """List named results with their latest signature, in every instance or in one."""
    the_store = _store(store)
    chosen = None if instance is None else _instance(instance)
    pointers = list(the_store.pointers(chosen))
    if not pointers and next(iter(the_store.manifests()), None) is None:
        raise SkipwiseError(
            f"no skipwise store at {the_store.url} ({_store_origin(store)}): "
            "nothing has been stored there"
        )
    # The store on a line of its own: a table title would wrap a long path.
    console.print(f"skipwise store: {the_store.url}", markup=False, highlight=False, soft_wrap=True)
    shown = "every instance" if chosen is None else f"instance {_instance_text(chosen)}"
    table = Table(caption=f"{_store_origin(store)}; {shown}")
    for column in ("instance", "name", "signature", "created", "codec", "size", "by"):
        table.add_column(column)
    for pointer in pointers:
        manifest = the_store.manifest(pointer.signature)
        where = _instance_text(pointer.instance)
        if manifest is None:
            table.add_row(
                where, pointer.name, pointer.signature[:12], "[red]missing[/]", "", "", ""
            )
            continue
        table.add_row(
            where,
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
    instance: InstanceOption = None,
) -> None:
    """Show a stored result's manifest and signature tree (a name: its latest in the
    instance)."""
    _instance(instance)
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
        for key, value in sorted(tree.extra.items()):  # a partition, a lazy step's SQL
            table.add_row(key, "signed as is", escape(value))
        console.print(table)


def _find_manifest(store: Store, text: str) -> Manifest:
    by_signature = gc.entries_by_signature(store, text)
    if by_signature is not None:
        manifest = by_signature[0] if by_signature else None
    else:
        pointer = store.pointer(text, config.instance_name())
        manifest = store.manifest(pointer.signature) if pointer else None
    if manifest is None:
        raise SkipwiseError(f"nothing stored for {text!r} in {store.url}")
    return manifest


# Units that cannot be mistaken: "m" could be minutes or months, so minutes are "min".
_UNITS = {"d": 86400, "h": 3600, "min": 60, "s": 1}
_DURATION = re.compile(r"(\d+)\s*([a-z]+)")


def _duration(text: str | None, option: str) -> timedelta | None:
    if text is None:
        return None
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        raise SkipwiseError(
            f"{option} {text!r}: use a number and d, h, min or s (e.g. 30d, 12h, 90min; "
            "not m, which could be minutes or months)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@app.command("gc")
def gc_command(
    store: StoreOption = None,
    keep_latest: Annotated[
        int | None, typer.Option(help="Per name, keep the latest N results.", min=1)
    ] = None,
    older_than: Annotated[
        str | None, typer.Option(help="Drop results older than this: 30d, 12h, 90min, 45s.")
    ] = None,
    leftover_grace: Annotated[
        str,
        typer.Option(help="Leave uncommitted files younger than this (a writer may be busy)."),
    ] = "1h",
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Also read every entry's data: what fails its checksum goes too."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--delete", help="Only report (default), or delete.")
    ] = True,
) -> None:
    """Remove old results and crashed writers' leftovers; never what a name points to,
    unless ``--verify`` finds it damaged (it would only ever be recomputed)."""
    the_store = _store(store)
    policy = gc.Policy(
        keep_latest=keep_latest,
        older_than=_duration(older_than, "--older-than"),
        leftover_grace=_duration(leftover_grace, "--leftover-grace"),
        verify=verify,
    )
    with _progress() as progress:
        task = progress.add_task("scanning", total=None)
        report = gc.plan_collection(the_store, policy, lambda: progress.advance(task))
    verb = "would remove" if dry_run else "removing"
    console.print(
        f"{verb} {len(report.drop) + len(report.damaged)} result(s) and {len(report.leftovers)} leftover file(s), "
        f"{_size(report.reclaimed_bytes)}; keeping {len(report.keep)} result(s)"
    )
    for manifest in report.drop:
        console.print(f"  result {manifest.signature[:12]} {manifest.name} ({manifest.created_at})")
    for manifest in report.damaged:
        console.print(f"  damaged {manifest.signature[:12]} {manifest.name}: fails its checksum")
    for leftover in report.leftovers:
        console.print(f"  leftover {leftover.path}")
    for item in report.refused:
        console.print(f"  refused (left alone) {escape(item.why)}")
    if not dry_run:
        with _progress() as progress:
            total = len(report.drop) + len(report.damaged) + len(report.leftovers)
            task = progress.add_task("removing", total=total)
            gc.collect(the_store, report, lambda: progress.advance(task))
        console.print("done")


@app.command("rm")
def rm_command(
    target: Annotated[
        str, typer.Argument(help="A signature (or a unique prefix), or a result name.")
    ],
    store: StoreOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
) -> None:
    """Remove stored results: one by signature, or every result of a name. The next run
    recomputes them; what consumed them reruns only if the new output differs."""
    the_store = _store(store)
    doomed = gc.removal(the_store, target)
    verb = "would remove" if dry_run else "removing"
    console.print(f"{verb} {len(doomed)} result(s) from {the_store.url}", markup=False)
    for manifest in doomed:
        console.print(f"  result {manifest.signature[:12]} {manifest.name} ({manifest.created_at})")
        if not dry_run:
            the_store.delete(manifest.signature)


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
    except Exception as exc:
        message = _mistake(exc)
        if message is None or _options.debug:
            raise
        errors.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
        raise SystemExit(2) from None


def _mistake(exc: Exception) -> str | None:
    """The one line for a user's mistake (with the install command of a missing extra), or
    None for a bug."""
    hint = extras.hint(exc)
    if isinstance(exc, SkipwiseError):
        message = str(exc)
    elif isinstance(exc, ImportError) and hint:
        message = f"{type(exc).__name__}: {exc}"
    else:
        return None
    return message if hint is None or hint in message else f"{message} ({hint})"


if __name__ == "__main__":
    main()
