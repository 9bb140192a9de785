"""How events travel: the CloudEvents envelope, the outbox relay, Kafka and the in-process stream."""
