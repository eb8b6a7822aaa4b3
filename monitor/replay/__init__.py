"""Offline replay of log files through the same engine, and the report it writes."""
