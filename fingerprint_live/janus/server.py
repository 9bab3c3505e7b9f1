"""Debian's ``janus`` on one machine: a configuration written for it, the process, and an
isolated network for tests.

The configuration loads the VideoRoom plugin and the WebSocket transport only, binds the
WebSocket API to 127.0.0.1, uses no STUN server, and declares one VP8 room; ``ice`` limits the
addresses Janus gathers ICE candidates on. A deployment writes its own (public interfaces, TLS,
a room secret).

Janus cannot gather on the loopback interface: it skips interfaces flagged LOOPBACK, and its
ICE library (libnice) finds no address in a namespace that has only ``lo`` and answers no check
from 127.0.0.1 to a loopback alias. So tests and benchmarks run inside ``isolated(...)``: a fresh
network namespace (root, ``unshare -n``) with ``lo`` and one veth pair whose both ends stay in
it, carrying ``ISOLATED_ADDRESS`` (RFC 2544's benchmarking range). That namespace has no route
anywhere else, so no packet can leave the machine; the WebSocket API stays on 127.0.0.1, and
media flows between ``ISOLATED_ADDRESS`` and itself.

    python -m fingerprint_live.janus.server --port 8188 --room 1234
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import FingerprintError

#: Where Debian (any architecture) and a source build put Janus's modules.
MODULE_ROOTS = ["/usr/lib/*/janus", "/usr/lib/janus", "/usr/local/lib/janus",
                "/opt/janus/lib/janus"]
#: The only plugin and transport loaded; every other one found is disabled.
PLUGIN, TRANSPORT = "libjanus_videoroom.so", "libjanus_websockets.so"
#: The one media address inside ``isolated``'s network namespace.
ISOLATED_ADDRESS = "198.18.0.1"
_ISOLATE = ("ip link set lo up && ip link add fl0 type veth peer name fl1 && "
            f"ip addr add {ISOLATED_ADDRESS}/32 dev fl0 && ip link set fl0 up && "
            "ip link set fl1 up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
            'exec "$@"')


@dataclass(frozen=True)
class JanusConfig:
    port: int = 8188  # the WebSocket API, on 127.0.0.1
    room: int = 1234
    publishers: int = 32  # the room's most concurrent publishers
    bitrate: int = 512_000  # the publishers' video bitrate cap, bits/s
    rtp_ports: tuple[int, int] = (40000, 40999)
    #: Janus's ICE enforce list: the interfaces or addresses to gather on (None: all).
    ice: str | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"


def module_folder() -> Path:
    """The folder with Janus's ``plugins`` and ``transports``; an error names the package."""
    for pattern in MODULE_ROOTS:
        for found in glob.glob(pattern):
            if (Path(found) / "plugins" / PLUGIN).is_file():
                return Path(found)
    raise FingerprintError("Janus's VideoRoom plugin was not found; install Debian's `janus` "
                           "package (apt-get install janus).")


def _disabled(folder: Path, keep: str) -> str:
    return ",".join(sorted(p.name for p in folder.glob("*.so") if p.name != keep))


def write_config(folder: str | Path, cfg: JanusConfig) -> Path:
    """Write ``janus.jcfg`` and the plugin's and transport's files into ``folder``."""
    folder, modules = Path(folder), module_folder()
    folder.mkdir(parents=True, exist_ok=True)
    lo, hi = cfg.rtp_ports
    (folder / "janus.jcfg").write_text(f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{modules / 'plugins'}"
    transports_folder = "{modules / 'transports'}"
    events_folder = "{modules / 'events'}"
    loggers_folder = "{modules / 'loggers'}"
    debug_level = 3
    server_name = "fingerprint-live"
    session_timeout = 60
}}
media: {{
    ipv6 = false
    rtp_port_range = "{lo}-{hi}"
}}
nat: {{
    {f'ice_enforce_list = "{cfg.ice}"' if cfg.ice else ''}
    ignore_mdns = true
    nice_debug = false
}}
plugins: {{
    disable = "{_disabled(modules / 'plugins', PLUGIN)}"
}}
transports: {{
    disable = "{_disabled(modules / 'transports', TRANSPORT)}"
}}
loggers: {{
    disable = "{_disabled(modules / 'loggers', '')}"
}}
events: {{
    broadcast = false
}}
""")
    (folder / "janus.transport.websockets.jcfg").write_text(f"""general: {{
    json = "compact"
    ws = true
    ws_port = {cfg.port}
    ws_ip = "127.0.0.1"
    wss = false
}}
admin: {{
    admin_ws = false
    admin_wss = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text(f"""general: {{
}}
room-{cfg.room}: {{
    description = "fingerprint-live"
    publishers = {cfg.publishers}
    bitrate = {cfg.bitrate}
    fir_freq = 5
    videocodec = "vp8"
    audiocodec = "opus"
}}
""")
    return folder


class JanusServer:
    """``janus`` running on ``cfg`` (a context manager): ready when its WebSocket port answers."""

    def __init__(self, cfg: JanusConfig, log: str | Path | None = None) -> None:
        self.cfg, self.log = cfg, log
        self.process: subprocess.Popen | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    def start(self, timeout: float = 15.0) -> JanusServer:
        binary = shutil.which("janus")
        if binary is None:
            raise FingerprintError("`janus` is not installed; install Debian's `janus` package.")
        self._folder = tempfile.TemporaryDirectory(prefix="janus-")
        folder = write_config(self._folder.name, self.cfg)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary, "--configs-folder", str(folder), "--config", str(folder / "janus.jcfg"),
             "--disable-colors"], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not _listening(self.cfg.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FingerprintError(f"janus did not start listening on 127.0.0.1:"
                                       f"{self.cfg.port} (see its log: {self.log or 'none'}).")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> JanusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def can_isolate() -> bool:
    """Whether ``isolated`` can work here: root, ``unshare`` and ``ip``."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("unshare", "ip", "sysctl"))


def isolated(argv: list[str]) -> list[str]:
    """``argv`` run in a new network namespace with ``lo`` and ``ISOLATED_ADDRESS`` only."""
    return ["unshare", "--net", "--", "sh", "-c", _ISOLATE, "sh", *argv]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run Debian's janus with its WebSocket API on 127.0.0.1 and one VP8 "
        "VideoRoom, no STUN (a configuration for one machine: trying the pool).")
    parser.add_argument("--port", type=int, default=8188, help="WebSocket API port (8188)")
    parser.add_argument("--room", type=int, default=1234, help="the room's id (1234)")
    parser.add_argument("--ice", default=None,
                        help="interfaces or addresses to gather ICE candidates on, e.g. eth0 "
                        "(default: all but loopback)")
    args = parser.parse_args()
    with JanusServer(JanusConfig(port=args.port, room=args.room, ice=args.ice)) as server:
        print(f"janus: {server.cfg.url} room {args.room} (Ctrl-C stops it)", flush=True)
        try:
            server.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
