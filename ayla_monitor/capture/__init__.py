"""Capture files: a stream as it was received, redacted if asked, to replay.

``format`` (the file format and its reader), ``redact`` (pure), ``writer``
(the recorder's and the exporter's), ``export`` (a capture from stored rows).
No Qt, no database: the store's rows come in as plain objects.
"""
