"""Test support: real external components (Kafka broker), drivers run as child processes."""
