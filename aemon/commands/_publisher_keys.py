"""CURVE keys for the PUB sockets of ``aemon monitor``: ``--events-curve-key FILE
--events-curve-clients DIR`` and ``--display-curve-key FILE --display-curve-clients DIR``.

With them a feed is encrypted and only subscribers whose public key file lies in the
directory complete the handshake (keys from ``aemon keys``; a subscriber sets its own key
pair and the publisher's public key, ``zmq.auth`` client settings). See
``aemon/drivers/README.md``, section Security.
"""

from __future__ import annotations

import argparse

from aemon.errors import ConfigError

FEEDS = ("events", "display")
"""The monitor's PUB feeds: events and status, and the lossy raw-sample display feed."""


def add_curve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--FEED-curve-key`` and ``--FEED-curve-clients`` for each feed."""
    for feed in FEEDS:
        parser.add_argument(
            f"--{feed}-curve-key", metavar="FILE",
            help=f"CURVE: secret key file (aemon keys) of the {feed} PUB: encrypted, and only "
            f"subscribers whose public key is in --{feed}-curve-clients can connect",
        )  # fmt: skip
        parser.add_argument(
            f"--{feed}-curve-clients", metavar="DIR",
            help=f"CURVE: directory of the public keys allowed to subscribe to the {feed} PUB",
        )  # fmt: skip


def check_curve_arguments(args: argparse.Namespace) -> None:
    """Refuse a key without its directory of subscriber keys, or the other way round."""
    for feed in FEEDS:
        key, clients = curve_files(args, feed)
        if (key is None) != (clients is None):
            raise ConfigError(
                f"--{feed}-curve-key and --{feed}-curve-clients go together: give both (the "
                "publisher's secret key file and the directory of subscriber keys) or neither"
            )


def curve_files(args: argparse.Namespace, feed: str) -> tuple[str | None, str | None]:
    """``(--FEED-curve-key, --FEED-curve-clients)``; ``demo`` and ``gui`` have neither."""
    return getattr(args, f"{feed}_curve_key", None), getattr(args, f"{feed}_curve_clients", None)
