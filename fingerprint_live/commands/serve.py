"""``fingerprint-live serve``: the browser demo on http://127.0.0.1:8080 by default."""

from __future__ import annotations

import argparse
import ipaddress
import logging
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
        "--enrollment every call is checked against that file, and its owner (you, on this "
        "command line) decides what a mismatch does: no page can enroll, bring another "
        "enrollment or choose the policy, and an offer that asks for another policy is refused "
        "(403). Without it, each page enrolls its own user, who then chooses for their own "
        "call. With --enrollment and --allow-growth, the page offers after hang-up to add the "
        "call to that file; the server adds it only if face and motion verified the owner in it "
        "with a clear margin (bounded, recorded, undone by `enroll --reset`). Prints one line "
        "per call (start; end, with the final state and how long it "
        "held). Binds 127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--enrollment", type=Path, default=None,
                   help="check every call against this enrollment (.fpe); pages cannot enroll")
    p.add_argument("--allow-growth", action="store_true",
                   help="with --enrollment: a page may ask, after hang-up, to add its call to "
                   "that file; it is added only if it verified you with a clear margin")
    p.add_argument("--policy", type=Policy, choices=[Policy.BLOCK, Policy.FLAG],
                   default=Policy.BLOCK,
                   help="what the far side gets on a mismatch: block (the slate) or flag (the "
                   "avatar with a warning banner). With --enrollment it holds for every call; "
                   "without, it is the page's default (default: %(default)s)")
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
                               on_glitch=args.on_glitch, enrollment=args.enrollment,
                               policy=args.policy, allow_growth=args.allow_growth))
    calls = logging.getLogger("fingerprint_live.serve")  # one line per call, on stderr
    calls.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    calls.addHandler(handler)
    web.run_app(app, host=args.host, port=args.port, print=lambda m: print(m, file=sys.stderr))
    return 0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
