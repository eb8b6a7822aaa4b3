"""Kafka around the stages: the client, the consumer loop, checkpoints and group membership."""
