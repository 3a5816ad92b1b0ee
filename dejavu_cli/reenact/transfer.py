"""Motion transfer from a tracked driver to an avatar (pure functions, torch, any device/dtype).

A :class:`Motion` holds the per-frame parameters that drive an avatar: expression ``[T, E]``, jaw
``[T, 3]``, eyes ``[T, 6]`` (axis-angle, left then right), head ``rotvec`` ``[T, 3]`` and ``translation``
``[T, 3]`` (docs/conventions.md#head-pose).

Relative transfer (the default of ``dejavu reenact``) applies the driver's change from its own neutral to
the avatar's neutral, because tracked expression and identity are entangled across people:

  expression_out[t] = avatar_expression + (driver_expression[t] - driver_neutral)
  rotation_out[t]   = R(driver_rotvec[t]) R(driver_reference)^T R(avatar_rotvec)
  translation_out[t] = avatar_translation + (driver_translation[t] - driver_reference_translation)

Absolute transfer copies the driver's coefficients. Frames where the driver has no face hold the last valid
frame (:func:`fill_invalid`). See docs/reenact.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.pose import quat_conj, quat_mul, quat_to_rotvec, rotvec_to_quat


@dataclass
class Motion:
    """Per-frame driving parameters (all tensors share ``T``, device and dtype)."""

    expression: torch.Tensor   # [T, E]
    jaw: torch.Tensor          # [T, 3] axis-angle (zeros for models without a jaw joint)
    eyes: torch.Tensor         # [T, 6] axis-angle, left then right
    rotvec: torch.Tensor       # [T, 3] head rotation, axis-angle
    translation: torch.Tensor  # [T, 3] head translation, metres

    def __len__(self) -> int:
        return int(self.expression.shape[0])

    def map(self, fn) -> "Motion":
        """A new Motion with ``fn`` applied to every field."""
        return Motion(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def slice(self, start: int, stop: int) -> "Motion":
        return self.map(lambda x: x[start:stop])


def align_hemisphere(quat: torch.Tensor) -> torch.Tensor:
    """Flip signs along time ``[T, 4]`` so consecutive quaternions have a non-negative dot product."""
    if quat.shape[0] < 2:
        return quat
    dots = (quat[1:] * quat[:-1]).sum(-1)
    flips = torch.cumprod(torch.where(dots < 0, -1.0, 1.0).to(quat.dtype), 0)
    sign = torch.cat([torch.ones(1, dtype=quat.dtype, device=quat.device), flips])
    return quat * sign[:, None]


def mean_rotation(rotvec: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean rotation ``[3]`` of ``rotvec`` ``[T, 3]``: normalized (weighted) sum of sign-aligned quaternions.

    Accurate for rotations clustered within a few tens of degrees (head poses); equals the chordal L2 mean
    to first order.
    """
    q = rotvec_to_quat(rotvec)
    q = torch.where((q * q[:1]).sum(-1, keepdim=True) < 0, -q, q)
    w = torch.ones(q.shape[0], dtype=q.dtype, device=q.device) if weights is None else weights.to(q.dtype)
    return quat_to_rotvec((q * w[:, None]).sum(0))


# ---------------------------------------------------------------- missing frames and neutral estimate

def fill_invalid(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Hold the last valid frame over invalid ones; leading invalid frames take the first valid one.

    x [T, ...], valid [T] bool -> [T, ...]. Raises :class:`DejavuError` when no frame is valid.
    """
    valid = valid.to(torch.bool).to(x.device)
    if not bool(valid.any()):
        raise DejavuError("no face was found in any frame of the driver video")
    t = torch.arange(x.shape[0], device=x.device)
    last = torch.cummax(torch.where(valid, t, torch.full_like(t, -1)), 0).values
    first = int(t[valid][0])
    return x[torch.where(last < 0, torch.full_like(last, first), last)]


def neutral_expression(expression: torch.Tensor, valid: torch.Tensor | None = None,
                       quantile: float = 0.05, fraction: float = 0.1) -> torch.Tensor:
    """Robust estimate ``[E]`` of the driver's neutral expression from ``expression`` ``[T, E]``.

    Non-negative coefficients (blendshape weights such as ICT's, 0 = neutral): the per-coefficient
    ``quantile`` over valid frames (a coefficient that is active all the time, e.g. a slightly open mouth,
    counts as the driver's neutral). Signed coefficients (PCA expression spaces such as FLAME's): the mean of
    the ``fraction`` of valid frames with the smallest expression norm (closest to the model's zero).
    """
    e = expression if valid is None else expression[valid.to(torch.bool).to(expression.device)]
    if e.shape[0] == 0:
        raise DejavuError("no face was found in any frame of the driver video")
    if bool((e >= -1e-4).all()):
        return torch.quantile(e, quantile, dim=0)
    k = max(1, int(round(fraction * e.shape[0])))
    idx = torch.topk(e.norm(dim=-1), k, largest=False).indices
    return e[idx].mean(0)


# ---------------------------------------------------------------- transfer

def absolute_transfer(driver: Motion, valid: torch.Tensor) -> Motion:
    """Copy the driver's parameters (missing frames hold the last valid one)."""
    return driver.map(lambda x: fill_invalid(x, valid))


def relative_transfer(driver: Motion, valid: torch.Tensor, avatar: Motion,
                      expression_range: tuple[float, float] | None = None) -> Motion:
    """Apply the driver's change from its neutral to the avatar's neutral (module docstring).

    driver: tracked Motion ``[T, ...]``; valid ``[T]``; avatar: the avatar's neutral/canonical Motion
    ``[1, ...]``. The driver's reference pose is its mean rotation and median translation over valid frames;
    its neutral expression is :func:`neutral_expression` (jaw and eyes: per-coordinate median).
    ``expression_range`` clamps the result (e.g. ``(0, 1)`` for blendshape weights); ``None`` picks
    ``(0, max(1, driver max))`` for non-negative coefficients and no clamp otherwise.
    """
    v = valid.to(torch.bool).to(driver.expression.device)
    d = absolute_transfer(driver, v)
    exp = avatar.expression + (d.expression - neutral_expression(driver.expression, v))
    if expression_range is None and bool((driver.expression[v] >= -1e-4).all()):
        expression_range = (0.0, max(1.0, float(driver.expression[v].max())))
    if expression_range is not None:
        exp = exp.clamp(*expression_range)
    jaw = avatar.jaw + (d.jaw - driver.jaw[v].median(0).values)
    eyes = avatar.eyes + (d.eyes - driver.eyes[v].median(0).values)
    q_ref = rotvec_to_quat(mean_rotation(driver.rotvec[v]))
    q_rel = quat_mul(rotvec_to_quat(d.rotvec), quat_conj(q_ref))            # [T, 4] R_t R_ref^T
    rotvec = quat_to_rotvec(quat_mul(q_rel, rotvec_to_quat(avatar.rotvec).expand_as(q_rel)))
    translation = avatar.translation + (d.translation - driver.translation[v].median(0).values)
    return Motion(exp, jaw, eyes, rotvec, translation)


# ---------------------------------------------------------------- temporal smoothing

def gaussian_smooth(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Zero-phase Gaussian filter along time: x [T, D], sigma in frames (<= 0: unchanged) -> [T, D].

    Weights are renormalized at the ends (no pull towards zero or padding values) and no lag is added.
    """
    if sigma <= 0 or x.shape[0] < 2:
        return x
    radius = max(1, int(3 * sigma + 0.5))
    offs = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offs / sigma) ** 2)                          # [K]
    T = x.shape[0]
    t = torch.arange(T, device=x.device)
    idx = t[:, None] + torch.arange(-radius, radius + 1, device=x.device)[None]  # [T, K]
    inside = ((idx >= 0) & (idx < T)).to(x.dtype)
    w = kernel[None] * inside
    w = w / w.sum(1, keepdim=True)                                           # [T, K]
    return torch.einsum("tk,tkd->td", w, x[idx.clamp(0, T - 1)])


def smooth_rotvec(rotvec: torch.Tensor, sigma: float) -> torch.Tensor:
    """Smooth rotations ``[T, 3]`` in quaternion space (hemisphere-aligned, renormalized)."""
    if sigma <= 0 or rotvec.shape[0] < 2:
        return rotvec
    q = align_hemisphere(rotvec_to_quat(rotvec))
    return quat_to_rotvec(gaussian_smooth(q, sigma))


def smooth_motion(motion: Motion, sigma: float) -> Motion:
    """Temporal smoothing of every field (rotations on the quaternion sphere); sigma in frames."""
    if sigma <= 0:
        return motion
    out = motion.map(lambda x: gaussian_smooth(x, sigma))
    return replace(out, rotvec=smooth_rotvec(motion.rotvec, sigma))


# ---------------------------------------------------------------- timing

def frame_positions(n_src: int, src_fps: float, dst_fps: float = 0.0, start: float = 0.0,
                    duration: float = 0.0) -> torch.Tensor:
    """Source-frame positions ``[T_out]`` (float64, fractional) of the output frames.

    Output frame k sits at time ``start + k / dst_fps`` (``dst_fps`` 0: the source rate); ``duration`` 0 runs
    to the end of the source. Raises :class:`DejavuError` when the window holds no frame.
    """
    dst = dst_fps if dst_fps > 0 else src_fps
    end = n_src / src_fps if duration <= 0 else min(n_src / src_fps, start + duration)
    n_out = int(round((end - start) * dst + 1e-6))
    if n_out <= 0:
        raise DejavuError(f"no driver frames between {start:.2f} s and {end:.2f} s "
                          f"(the driver is {n_src / src_fps:.2f} s long)")
    pos = (start + torch.arange(n_out, dtype=torch.float64) / dst) * src_fps
    return pos.clamp(0, n_src - 1)


def interpolate_motion(motion: Motion, pos: torch.Tensor) -> Motion:
    """Motion at fractional frame positions ``pos`` ``[T_out]``: linear, rotations by normalized quaternion
    interpolation (nlerp, accurate between neighbouring frames)."""
    T = len(motion)
    lo = pos.floor().long().clamp(0, T - 1).to(motion.expression.device)
    hi = (lo + 1).clamp(max=T - 1)
    w = (pos - pos.floor()).to(motion.expression)[:, None].to(motion.expression.device)
    out = motion.map(lambda x: x[lo] * (1 - w) + x[hi] * w)
    q = align_hemisphere(rotvec_to_quat(motion.rotvec))
    return replace(out, rotvec=quat_to_rotvec(q[lo] * (1 - w) + q[hi] * w))
