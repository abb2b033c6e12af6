"""``nimwatch preflight``: read-only checks of what is known to make nimadm fail, before it runs.

Owns the checks (:mod:`checks_nim`, :mod:`checks_client`, :mod:`checks_services`),
the facts they rely on (:mod:`rules`), the memoising :class:`~nimwatch.preflight.probe.Probe`
that runs each command once through a :class:`~nimwatch.aix.runner.Runner`, and the text
and JSON output (:mod:`render`). Every check gives pass, fail or unknown with the evidence
line it read and, when it did not pass, the fix. Headless: no Textual here.
"""
