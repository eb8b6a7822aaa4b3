"""Stage 1, ingest: raw lines or records -> decoded events, or dead letters with a reason.

Nothing here knows about windows: a decoded batch is handed on to `windows/`.
"""
