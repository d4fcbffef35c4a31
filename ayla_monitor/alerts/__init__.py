"""Alerts (issue 13): rules read from ``alerts.toml`` (:mod:`.rules`) and
their evaluation over live events and the fleet insight (:mod:`.evaluate`).

Pure like :mod:`ayla_monitor.fleet`: no Qt, no database, no asyncio and no
clock (time is a parameter). The window and the headless recorder share it
through :mod:`ayla_monitor.core.alerting`; alerts are stored by
:mod:`ayla_monitor.store.alerts`.
"""
