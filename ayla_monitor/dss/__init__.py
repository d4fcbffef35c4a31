"""The DSS protocol core: frames, events, endpoints, keys. No I/O here,
except :mod:`ayla_monitor.dss.client`, the one asyncio skin around it."""
