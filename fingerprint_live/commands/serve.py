"""``fingerprint-live serve``: the browser demo on http://127.0.0.1:8080 by default."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from ..errors import FingerprintError
from ..guard import Policy


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve",
        help="run the browser demo: camera, enrollment, avatar back over WebRTC",
        description="Serve a page that records your enrollment from the camera (or loads one "
        "you saved), then sends the guarded avatar back over WebRTC with live status. With "
        "--enrollment every call is checked against that file and no page can enroll. Binds "
        "127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--enrollment", type=Path, default=None,
                   help="check every call against this enrollment (.fpe); pages cannot enroll")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    p.add_argument("--max-sessions", type=int, default=2,
                   help="calls served at once; more are refused (default: %(default)s)")
    p.add_argument("--stun", default=None,
                   help="STUN URL for clients on other machines (default: none, loopback only)")
    p.add_argument("--on-glitch", type=Policy, choices=list(Policy), default=Policy.FLAG,
                   help="when the avatar renders badly: flag (banner), block (slate), off "
                   "(default: %(default)s)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from ..serve import ServeConfig, make_app

    if args.max_sessions < 1:
        raise FingerprintError("--max-sessions must be at least 1.")
    loopback = _is_loopback(args.host)
    if not loopback:
        print("warning: serving beyond this machine; the page needs HTTPS for camera access "
              "from other hosts, and ICE offers all local addresses.", file=sys.stderr)
    app = make_app(ServeConfig(max_sessions=args.max_sessions, loopback_ice=loopback,
                               stun=args.stun, model_dir=args.model,
                               on_glitch=args.on_glitch, enrollment=args.enrollment))
    web.run_app(app, host=args.host, port=args.port, print=lambda m: print(m, file=sys.stderr))
    return 0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
