"""The engine: streams in, events stored and fanned out to whoever watches
(the headless recorder's status line, the window's bridge)."""
