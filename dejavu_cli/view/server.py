"""The live viewer: a viser server whose browser client draws the avatar's Gaussians, with GUI controls for
the head model's expressions, jaw, eyes and head pose, presets, a driver timeline, a turntable and reset.

Every change is animated by :class:`dejavu_cli.avatar.animate.Animator` (the code ``reenact`` uses) and sent
to the browser as an updated splat set (viser's ``add_gaussian_splats`` under one scene name, so each update
replaces the last). One worker thread does the updates: GUI callbacks only mark the state dirty, so a
dragged slider costs one update per frame the worker can make, not one per event.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch
import viser

from dejavu_cli.avatar.expressions import PRESETS, preset_expression
from dejavu_cli.head.base import HeadParams
from dejavu_cli.head.pose import axis_angle_to_matrix
from dejavu_cli.reenact.transfer import Motion
from dejavu_cli.view.splats import pose_rotvec, splat_arrays

#: FLAME's coefficients are unnamed: the viewer offers this many (its first, strongest components).
UNNAMED_EXPRESSIONS = 10
#: Degrees per second of the turntable.
TURNTABLE_DEG_S = 45.0


@dataclass
class Driver:
    """A tracked video to play: per-frame motion [T, ...] (rotation relative to its rest pose) at ``fps``."""

    motion: Motion
    fps: float
    name: str


class AvatarViewer:
    """Serve ``animator``'s avatar on ``host:port``; :meth:`serve_forever` runs until :meth:`stop`."""

    def __init__(self, animator, host: str = "127.0.0.1", port: int = 8080, driver: Driver | None = None,
                 title: str = "dejavu"):
        self.animator = animator
        self.head = animator.head
        self.driver = driver
        self.server = viser.ViserServer(host=host, port=port, label=title, verbose=False)
        self.server.scene.set_up_direction("+y")
        self.server.on_client_connect(self._on_connect)
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.updates = 0
        self.last_update_s = 0.0
        self._turn_deg = 0.0
        self._build_gui()
        with torch.no_grad():                              # the rest head's centre: pivot and camera target
            g = animator.gaussians(animator.neutral(1))
        self.centre = tuple(float(v) for v in g["means"][0].mean(0))
        self.update()                                      # the first picture before anyone connects

    # ---- GUI -------------------------------------------------------------------------------------------
    def _build_gui(self) -> None:
        gui, names = self.server.gui, list(self.head.expression_names)
        named = any(n and not n.isdigit() for n in names)
        self.expr_names = names if named else names[:UNNAMED_EXPRESSIONS]
        lo, hi = (0.0, 1.0) if named else (-3.0, 3.0)
        self.status = gui.add_markdown("starting...")
        with gui.add_folder("Presets"):
            buttons = gui.add_button_group("expression", ["neutral"] + [p for p in PRESETS if named])
            buttons.on_click(lambda event: self.apply_preset(event.target.value))
        with gui.add_folder("Head pose"):
            self.yaw = gui.add_slider("yaw (deg)", -90.0, 90.0, 1.0, 0.0)
            self.pitch = gui.add_slider("pitch (deg)", -45.0, 45.0, 1.0, 0.0)
            self.roll = gui.add_slider("roll (deg)", -45.0, 45.0, 1.0, 0.0)
            self.turntable = gui.add_checkbox("turntable", False)
        self.jaw = self.eyes_yaw = self.eyes_pitch = None
        if self.head.has_jaw or self.head.has_eyes:
            with gui.add_folder("Jaw and eyes"):
                if self.head.has_jaw:
                    self.jaw = gui.add_slider("jaw open (rad)", 0.0, 0.5, 0.01, 0.0)
                if self.head.has_eyes:
                    self.eyes_yaw = gui.add_slider("gaze left-right (rad)", -0.5, 0.5, 0.01, 0.0)
                    self.eyes_pitch = gui.add_slider("gaze up-down (rad)", -0.4, 0.4, 0.01, 0.0)
        with gui.add_folder("Expressions", expand_by_default=False):
            self.sliders = [gui.add_slider(n, lo, hi, 0.01, 0.0) for n in self.expr_names]
        self.frame = self.play = self.use_driver = None
        if self.driver is not None:
            n = len(self.driver.motion)
            with gui.add_folder(f"Driver: {self.driver.name}"):
                self.use_driver = gui.add_checkbox("drive with the video", True)
                self.play = gui.add_checkbox(f"play ({self.driver.fps:.0f} fps)", False)
                self.frame = gui.add_slider("frame", 0, max(n - 1, 1), 1, 0)
        gui.add_button("reset").on_click(lambda _: self.reset())
        for h in [self.yaw, self.pitch, self.roll, self.turntable, self.jaw, self.eyes_yaw, self.eyes_pitch,
                  self.frame, self.use_driver, *self.sliders]:
            if h is not None:
                h.on_update(lambda _: self._dirty.set())

    def _on_connect(self, client) -> None:
        """Each new browser tab starts in front of the face (+z), 0.5 m away, y up."""
        x, y, z = self.centre
        client.camera.up_direction = (0.0, 1.0, 0.0)
        client.camera.position = (x, y + 0.02, z + 0.5)
        client.camera.look_at = (x, y, z)

    def apply_preset(self, name: str) -> None:
        """Set the expression sliders to a named preset (``neutral``: all zero)."""
        values = torch.zeros(len(self.expr_names)) if name == "neutral" else \
            preset_expression(list(self.head.expression_names), name)[:len(self.expr_names)]
        with self.server.atomic():
            for s, v in zip(self.sliders, values.tolist()):
                s.value = float(v)
        self._dirty.set()

    def reset(self) -> None:
        """Neutral face, head straight, turntable and playback off, driver frame 0."""
        with self.server.atomic():
            for h in (self.yaw, self.pitch, self.roll, self.jaw, self.eyes_yaw, self.eyes_pitch, *self.sliders):
                if h is not None:
                    h.value = 0.0
            self.turntable.value = False
            if self.frame is not None:
                self.frame.value, self.play.value = 0, False
        self._turn_deg = 0.0
        self._dirty.set()

    # ---- animation -------------------------------------------------------------------------------------
    def current_params(self) -> tuple[HeadParams, torch.Tensor]:
        """Head-model parameters [1, ...] and head rotation [1, 3] the controls ask for now."""
        dev, E = self.animator.device, self.head.n_expression
        expr = torch.zeros(1, E)
        jaw = torch.zeros(1, 3)
        eyes = torch.zeros(1, 6)
        extra = None
        if self.driver is not None and self.use_driver.value:
            m, i = self.driver.motion, int(self.frame.value)
            expr, jaw, eyes, extra = m.expression[i:i + 1], m.jaw[i:i + 1], m.eyes[i:i + 1], m.rotvec[i:i + 1]
        else:
            expr[0, :len(self.sliders)] = torch.tensor([s.value for s in self.sliders])
            if self.jaw is not None:
                jaw[0, 0] = float(self.jaw.value)
            if self.eyes_yaw is not None:
                eyes[0, [1, 4]] = float(self.eyes_yaw.value)
                eyes[0, [0, 3]] = -float(self.eyes_pitch.value)
        rot = pose_rotvec(float(self.yaw.value) + self._turn_deg, float(self.pitch.value), float(self.roll.value),
                          extra)
        params = self.animator.neutral(1)
        params.expression = expr.to(dev)
        params.jaw = jaw.to(dev) if self.head.has_jaw else None
        params.eyes = eyes.to(dev) if self.head.has_eyes else None
        return params, rot.to(dev)

    def update(self) -> float:
        """Animate the current controls and send the splats; returns the seconds it took."""
        with self._lock:
            t0 = time.perf_counter()
            params, rot = self.current_params()
            c = torch.tensor([self.centre], device=rot.device)
            with torch.no_grad():                          # turn about the head's centre: t = c - R c
                transl = c - c @ axis_angle_to_matrix(rot)[0].T
                g = self.animator.gaussians(params, rot, transl)
            arrays = splat_arrays(*(g[k][0].cpu() for k in ("means", "quats", "scales", "opacities", "colors")))
            self.server.scene.add_gaussian_splats("/avatar", **arrays)
            self.last_update_s = time.perf_counter() - t0
            self.updates += 1
            self.status.content = (f"{self.animator.avatar.n_gaussians:,} Gaussians; last update "
                                   f"{1000 * self.last_update_s:.0f} ms")
        return self.last_update_s

    def serve_forever(self) -> None:
        """Update whenever a control changed, and continuously while playing or turning; until :meth:`stop`."""
        last = time.perf_counter()
        while not self._stop.is_set():
            moving = self.turntable.value or (self.play is not None and self.play.value and self.use_driver.value)
            if not self._dirty.wait(timeout=0.0 if moving else 0.1) and not moving:
                continue
            self._dirty.clear()
            now = time.perf_counter()
            dt, last = now - last, now
            if self.turntable.value:
                self._turn_deg = (self._turn_deg + TURNTABLE_DEG_S * min(dt, 0.2)) % 360.0
            if self.play is not None and self.play.value and self.use_driver.value:
                step = max(1, round(dt * self.driver.fps))
                self.frame.value = (int(self.frame.value) + step) % len(self.driver.motion)
                self._dirty.clear()                          # the frame slider's own callback
            self.update()

    def request_stop(self) -> None:
        """Make :meth:`serve_forever` return after its current update (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
