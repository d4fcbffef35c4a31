"""The fleet: what every device is and what is wrong with it, folded from
events. Pure code (no Qt, no I/O, no clock): the window, the recorder and
the report feed it live events or stored rows alike."""
