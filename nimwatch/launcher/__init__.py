"""``nimwatch run``: nimadm started detached from the terminal, supervised, its exit status kept.

Owns :mod:`nimadm_args` (which client a nimadm command line is about),
:mod:`records` (the run record file next to the state journal: command line,
start time, PIDs, exit status; written atomically), :mod:`supervisor` (the
small process that starts nimadm in a session of its own and records how it
ended, whatever happens to nimwatch meanwhile) and :mod:`launch` (refuse a
second nimadm for a client, start the supervisor, wait for its handshake).

Interface for the views (not wired yet): :func:`records.latest` gives a
client's last :class:`records.RunRecord`; its :meth:`~records.RunRecord.status`
is ``running``, ``exited`` (``exit_code`` or ``signal`` set) or ``lost`` (the
supervisor died before nimadm ended); :func:`records.sync_journal` copies every
record into the journal's ``launches`` table (``Journal.launches()`` reads it).
"""
