"""Stage 2, windows: decoded events counted into constant-size, mergeable window states."""
