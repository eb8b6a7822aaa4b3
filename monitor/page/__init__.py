"""The HTML page of a replay report: one self-contained file with its charts."""
