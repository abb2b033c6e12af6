"""The run's facts and the reboot verdict, for the client detail.

Owns :class:`FactsPanel`: disks, cache VG or NFS mode, levels, SPOT and
lpp_source, boot disk, the modes detected, and whether the client may be
rebooted (:func:`nimwatch.core.verdict.reboot_verdict`), and what the log
cannot say: how nimadm ended when ``nimwatch run`` started it, and the
client's NIM state and the hooks that failed for the run (:func:`outside_rows`). When the log holds more than
one run, or a run that is not a migration, the client's verdict (its last migration,
:func:`nimwatch.core.verdict.client_verdict`) comes first, with its reboot verdict.
"""

from __future__ import annotations

from typing import Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nimwatch.aix.text import clean_line
from nimwatch.core.outside import exit_words
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import client_verdict, operation_of, reboot_verdict, run_label
from nimwatch.terminal import escape_controls

VERDICT_STYLE = {
    "safe": "bold green",
    "not_applicable": "",
    "wait": "yellow",
    "do_not_reboot": "yellow",
    "check_bootlist": "bold yellow",
    "reset_bootlist": "bold red",
}
"""Green only when safe; yellow for "not yet" and "do not" (a failed migration whose bootlist names the old disk:
no reboot is needed, and one would be harmless); red only where a reboot now boots a broken system."""

FACT_LABELS = (
    ("target_disks", "Target disks"),
    ("target_level", "Target level"),
    ("oslevel", "Level found"),
    ("cache_vg", "Cache VG"),
    ("spot", "SPOT"),
    ("lpp_source", "lpp_source"),
    ("master", "NIM master"),
    ("boot_disk", "Boot disk"),
    ("mksysb", "mksysb"),
    ("mksysb_output", "mksysb output"),
)


def outside_rows(log: LogState, run: RunState) -> list[tuple[str, str]]:
    """What the log cannot say: how nimadm ended (``nimwatch run``), the client's NIM state, failed hooks."""
    rows = []
    ended = run.nimadm_exit or log.launch_exit
    if ended is not None:
        words = exit_words(ended)
        if run.nimadm_exit is None:
            words += " before writing to its log"
        elif run.exit_settled:
            words += f" (settles the run: {run_label(run)})"
        rows.append(("nimadm", clean_line(f"{words}; output {ended.output}")))
    if log.nim is not None:
        rows.append(("NIM state", clean_line(log.nim.label())))
    for hook in run.failed_hooks:
        rows.append((f"Hook {clean_line(hook.hook)}", clean_line(f"failed for {hook.trigger}: {hook.words()}")))
    return rows


class FactsPanel(Static):
    """What the log told about the run, and the reboot verdict."""

    def show_run(self, log: LogState, run: Optional[RunState], shown_path: str) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("Log", Text(escape_controls(shown_path)))
        if run is None:
            grid.add_row("Run", "no nimadm output yet")
            self.update(grid)
            return
        several = len(log.runs) > 1 or operation_of(run) != "migration" or log.launch_exit is not None
        client = client_verdict(log.runs, launch=log.launch_exit) if several else None
        if client is not None:
            grid.add_row("Verdict", client.summary)
        grid.add_row("Run", f"{run.index} of {len(log.runs)}" + (" (log starts mid-run)" if run.mid_run else ""))
        if operation_of(run) != "migration":
            grid.add_row("Operation", operation_of(run))
        for key, label in FACT_LABELS:
            value = run.facts.get(key)
            if value:
                grid.add_row(label, Text(escape_controls(value)))
        if "cache" not in run.variants and "nfs" in run.variants:
            grid.add_row("Cache", "none (NFS mode)")
        if run.variants:
            grid.add_row("Modes", ", ".join(run.variants))
        for label, value in outside_rows(log, run):
            grid.add_row(label, Text(value))
        verdict = client.reboot if client is not None and client.run != run.index else reboot_verdict(run)
        summary = Text(escape_controls(verdict.summary), style=VERDICT_STYLE.get(verdict.verdict, ""))
        lines = [Text("Reboot: ", style="bold") + summary]
        if verdict.detail:
            lines.extend(Text("  " + escape_controls(line)) for line in verdict.detail.splitlines())
        self.update(Group(grid, Text(""), *lines))
