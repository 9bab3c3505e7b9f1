"""``fingerprint-live``: one console script, one module per subcommand in ``commands/``.

Each command module has ``add_parser(subparsers)`` and ``run(args) -> int``. Errors on bad input
(:class:`FingerprintError`) print their message and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import FingerprintError

#: Subcommands in the order ``--help`` lists them.
COMMANDS = ["enroll", "export", "keys", "verify", "serve", "cam", "animate", "train", "eval",
            "fit-glitch", "worker"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fingerprint-live",
        description="Drive an avatar from your webcam and prove, all through the call, "
        "that you are the one driving it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"fingerprint_live.commands.{name.replace('-', '_')}")
        module.add_parser(sub).set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except FingerprintError as exc:
        print(f"fingerprint-live {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
