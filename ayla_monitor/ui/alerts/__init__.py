"""The window's side of alerts (issue 13): the Alerts panel and its model,
the tray icon and its notifications, the rule editor, the badges' marks, and
the glue that runs :mod:`ayla_monitor.core.alerting` for the window."""
