"""The ``command`` sink: a program run for each alert, through the command runner.

The argv is run without a shell (:func:`nimwatch.process.runner.run_command`),
in its own process group, with a timeout. It gets the alert as JSON on stdin
and the usual ``NIMWATCH_*`` variables (event, client, phase, severity, rule,
code, line, outcome, log, summary, id); exit status 0 means delivered.
"""

from __future__ import annotations

import json
from typing import Any

from nimwatch.alerts.sink import DeliveryError, Sink
from nimwatch.config.alerts import CommandOptions
from nimwatch.process.runner import base_env, run_command
from nimwatch.trust import executable_problem, hook_path, resolve_executable

ENV_FIELDS = ("event", "client", "log", "run", "phase", "phase_name", "severity", "rule", "code", "line", "outcome")


class CommandSink(Sink[CommandOptions]):
    options_type = CommandOptions

    def describe(self) -> str:
        return f"command {self.options.run[0]}"

    def send(self, payload: dict[str, Any]) -> None:
        env = {**base_env(), **self.options.env}
        for name in (*ENV_FIELDS, "summary", "id"):
            value = payload.get(name)
            env[f"NIMWATCH_{name.upper()}"] = "" if value is None else str(value).replace("\0", "")
        stdin = (json.dumps(payload, ensure_ascii=True) + "\n").encode("ascii")
        argv = list(self.options.run)
        executable = resolve_executable(argv[0], hook_path(env))
        problem = f"{argv[0]}: not found in PATH" if executable is None else executable_problem(executable)
        if problem:  # checked again at each run: it may have been replaced since the config was loaded
            raise DeliveryError(f"{self.describe()}: {problem}")
        result = run_command(argv, env=env, stdin=stdin, timeout=self.options.timeout, cwd=self.options.cwd)
        if result.ok:
            return
        if result.error:
            raise DeliveryError(f"{self.describe()}: {result.error}")
        tail = " ".join(result.output_tail.split())[-300:]
        raise DeliveryError(f"{self.describe()} exited {result.returncode}" + (f": {tail}" if tail else ""))
