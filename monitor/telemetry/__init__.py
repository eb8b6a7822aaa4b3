"""Metrics, logs, health and the small HTTP server that exposes them; usable from any stage."""
