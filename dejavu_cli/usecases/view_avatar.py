"""``dejavu view``: load the avatar (and a driver's motion), start the viser viewer, serve until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.pose import relative_rotvec
from dejavu_cli.head.registry import load_head
from dejavu_cli.reenact.config import ReenactConfig
from dejavu_cli.track import api as track_api
from dejavu_cli.usecases.config import ViewConfig
from dejavu_cli.usecases.reenact_video import avatar_neutral, driving_motion
from dejavu_cli.view.server import AvatarViewer, Driver


def load_driver(path: str | Path, avatar, head, device, progress: bool = True, log=print) -> Driver:
    """The motion a driver video (tracked, cached) or tracking file plays, relative to the avatar's rest pose."""
    path = Path(path)
    if not path.is_file():
        raise DejavuError(f"driver not found: {path}")
    if path.name.endswith(".npz"):
        track = track_api.load_track(path)
    else:
        track, _, reused = track_api.track_cached(path, track_api.TrackConfig(head=avatar.head, device=device.type),
                                                  progress=progress)
        if reused:
            log("driver tracking reused from the cache")
    if track.head != avatar.head:
        raise DejavuError(f"{path} was tracked with head {track.head!r}, the avatar uses {avatar.head!r}")
    fps = float(track.fps or 30.0)
    motion, _ = driving_motion(track, avatar, head.n_expression, ReenactConfig(), fps)
    rest = avatar_neutral(avatar, head.n_expression).rotvec
    motion.rotvec = relative_rotvec(motion.rotvec, rest)
    return Driver(motion, fps, path.name)


def open_viewer(avatar_path: str | Path, cfg: ViewConfig | None = None, progress: bool = True,
                log=print) -> AvatarViewer:
    """The running viewer of ``avatar_path`` (its server listens once this returns)."""
    cfg = cfg or ViewConfig()
    device = resolve_device(cfg.device)
    configure_torch(device)
    avatar = load_avatar(avatar_path)
    head = load_head(avatar.head, device=device)
    animator = Animator(avatar, head, device)
    driver = load_driver(cfg.driver, avatar, head, device, progress, log) if cfg.driver else None
    return AvatarViewer(animator, cfg.host, cfg.port, driver, title=f"dejavu: {Path(avatar_path).name}")


def view(avatar_path: str | Path, cfg: ViewConfig | None = None, log=print) -> None:
    """Serve the viewer until Ctrl-C (returns then; a second Ctrl-C raises KeyboardInterrupt); prints the URL
    first."""
    cfg = cfg or ViewConfig()
    viewer = open_viewer(avatar_path, cfg, log=log)
    host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::") else cfg.host
    log(f"viewer: http://{host}:{viewer.server.get_port()} ({viewer.animator.avatar.n_gaussians:,} Gaussians; "
        f"Ctrl-C stops it)")
    # Ctrl-C sets the loop's stop flag instead of raising wherever the main thread happens to be (a
    # KeyboardInterrupt landing inside viser's scene update could leave the server half-updated and the
    # process hanging at exit); a second Ctrl-C interrupts at once.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    previous = signal.default_int_handler if previous is None else previous

    def on_sigint(signum, frame):
        signal.signal(signal.SIGINT, previous)
        viewer.request_stop()

    if main:
        signal.signal(signal.SIGINT, on_sigint)
    try:
        viewer.serve_forever()
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        viewer.stop()
