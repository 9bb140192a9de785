"""Exits 0 when a Kafka broker on the given address answers a metadata request in time."""

import argparse
import sys

from kafka import KafkaAdminClient
from kafka.errors import KafkaError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds")
    args = parser.parse_args()
    timeout_ms = int(args.timeout * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=args.bootstrap,
            request_timeout_ms=timeout_ms,
        )
        try:
            admin.describe_cluster()
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError) as exc:
        print(f"Kafka not ready at {args.bootstrap}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
