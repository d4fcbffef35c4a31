"""Persistence with peewee: SQLite by default, MySQL/MariaDB for teams.

:class:`~ayla_monitor.store.database.Store` reads, the
:class:`~ayla_monitor.store.writer.EventWriter` writes (through a process of
its own, :mod:`~ayla_monitor.store.writer_process`); callers only
ever see the plain records of :mod:`ayla_monitor.store.records`.
"""
