"""Immutable, versioned training baselines: build, freeze, hash, store, load, verify."""
