"""``aemon keys DIR``: make a CURVE key pair for encrypted, authenticated ZeroMQ links.

Writes ``DIR/NAME.key`` (public: give it to the other end) and ``DIR/NAME.key_secret``
(secret: keep it, readable by its owner only), in pyzmq's ``zmq.auth`` format. How the keys
are used (DAQ ↔ receiver, monitor ↔ event subscribers): ``aemon/drivers/README.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from pathlib import Path

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

_EXAMPLES = """\
examples:
  aemon keys keys/daq --name daq        # on the DAQ host: keys/daq/daq.key(_secret)
  aemon keys keys/rx --name rx          # on the aemon host; copy rx.key to the DAQ's clients/"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` subcommand."""
    parser = subparsers.add_parser(
        "keys",
        help="make a CURVE key pair for encrypted, authenticated DAQ or event links",
        description="Write DIR/NAME.key (public; copy it to the other end's authorised-keys "
        "directory or give it as its server key) and DIR/NAME.key_secret (secret; only for "
        "this end). See drivers/README.md, section Security.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="directory for the key files")
    parser.add_argument("--name", default="aemon", help="file name stem (default: aemon)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Make the key pair; refuse to overwrite an existing one."""
    import zmq.auth

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.name):
        raise ConfigError(f"--name {args.name!r}: use letters, digits, '.', '_' or '-'")
    public = args.dir / f"{args.name}.key"
    secret = args.dir / f"{args.name}.key_secret"
    for path in (public, secret):
        if path.exists():
            raise ConfigError(f"{path} exists; choose another --name or directory")
    try:
        args.dir.mkdir(parents=True, exist_ok=True)
        made_public, made_secret = zmq.auth.create_certificates(args.dir, args.name)
        os.chmod(made_secret, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write keys to {args.dir}: {exc.strerror}") from None
    print(f"public key: {made_public}\nsecret key: {made_secret} (keep it private)")
    return 0
