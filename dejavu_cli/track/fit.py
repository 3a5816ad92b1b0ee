"""Landmark fit of a head model to all frames at once (docs/tracking.md#fit).

Unknowns: one identity for the video; per frame expression (+ jaw and eye rotations when the model has
them) and the rigid head pose (rotvec, translation; docs/conventions.md#head-pose). The camera is fixed
(``render.camera.default_viewmat``, 20 degree field of view, crop-pixel intrinsics).

Speed comes from never evaluating the full mesh: the model is reduced once to the L fitted surface points
(``LandmarkModel``: mean ``[L, 3]`` + blendshape basis ``[P, L, 3]``; for skinned heads (FLAME, test head)
also the joints' dependence on the shape and the points' skinning weights and pose correctives, so jaw and
eye rotations are exact LBS, :func:`posed_points`). MediaPipe's points slide over the face as the head turns,
so when the correspondence has a yaw table (``correspond.CALIBRATION_YAWS``) the model holds one such
reduction per calibration yaw and each frame's points are interpolated between the two yaws around its
current head yaw. Pose is initialised per frame by PnP,
then Adam runs a few hundred iterations over all frames jointly with priors and temporal smoothness.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from dejavu_cli.head import lbs
from dejavu_cli.head.pose import axis_angle_to_matrix, yaw_pitch_roll
from dejavu_cli.track.correspond import yaw_bins


@dataclass
class LandmarkModel:
    """L surface points of a head model. Coefficients are laid out ``[identity | expression | jaw (3) |
    eyes (6)]`` (the last two only when the model has them). Blendshape part: ``mean + sum_k c_k basis_k``
    over identity and expression. Joint rotations: exact LBS with ``skinning`` (skinned heads), else first
    order (``basis`` then also holds rows for jaw/eyes)."""

    mean: torch.Tensor    # [L, 3]
    basis: torch.Tensor   # [P, L, 3]
    n_id: int
    n_exp: int
    n_jaw: int
    n_eyes: int
    skinning: dict | None = None  # joint_mean [J,3], joint_basis [n_id+n_exp,J,3], weights [L,J],
    #                               posedirs [(J-1)*9, L*3] or None, parents list[int]
    #: The same L points as derived on renders turned to each yaw (radians [Y], ascending), one model per yaw
    #: (no tables of their own); None: the points do not depend on the pose.
    yaw_grid: torch.Tensor | None = None
    yaw_models: list[LandmarkModel] | None = None


def _skinned_parts(head, corr, device) -> dict | None:
    """Joint regression and skinning of the correspondence points (FLAME layout heads), else None."""
    needed = ("J_regressor", "weights", "parents", "shape_basis", "expr_basis")
    if not all(hasattr(head, k) for k in needed):
        return None
    V = head.n_vertices
    tri = head.faces[torch.as_tensor(corr.faces, device=head.template.device)]              # [L, 3]
    bary = torch.as_tensor(corr.bary, dtype=head.template.dtype, device=head.template.device)
    Jr = head.J_regressor
    blend = torch.cat([head.shape_basis, head.expr_basis], 0).reshape(-1, V, 3)
    parts = {
        "joint_mean": Jr @ head.template,
        "joint_basis": torch.einsum("jv,kvc->kjc", Jr, blend),
        "weights": (head.weights[tri] * bary[..., None]).sum(1),
        "parents": list(head.parents),
        "posedirs": None,
    }
    if getattr(head, "_has_posedirs", False):
        pd = head.posedirs.reshape(head.posedirs.shape[0], V, 3)
        parts["posedirs"] = (pd[:, tri] * bary[None, :, :, None]).sum(2).reshape(pd.shape[0], -1)
    return {k: (v.float().to(device) if torch.is_tensor(v) else v) for k, v in parts.items()}


def posed_points(lm: LandmarkModel, ident: torch.Tensor, frame: torch.Tensor,
                 yaw: torch.Tensor | None = None) -> torch.Tensor:
    """Model-space points ``[T, L, 3]`` for identity ``[n_id]`` and per-frame coefficients ``[T, P - n_id]``.

    ``yaw`` [T] (radians, docs/conventions.md#head-pose): each frame's head yaw; with a yaw table the points
    are interpolated linearly between the models of the two calibration yaws around it (clamped at the
    ends). The interpolation weights are constants: no gradient flows into ``yaw``.
    """
    if yaw is None or lm.yaw_models is None:
        return _points_at(lm, ident, frame)
    lo, a = yaw_bins(yaw.detach(), lm.yaw_grid)
    out = frame.new_zeros(frame.shape[0], lm.mean.shape[0], 3)
    for k in torch.unique(lo).tolist():
        idx = torch.nonzero(lo == k)[:, 0]
        w = a[idx, None, None]
        f = frame[idx]
        p = (1 - w) * _points_at(lm.yaw_models[k], ident, f) + w * _points_at(lm.yaw_models[k + 1], ident, f)
        out = out.index_copy(0, idx, p)
    return out


def frame_yaw(rotvec: torch.Tensor) -> torch.Tensor:
    """Head yaw [T] in radians of head rotations ``rotvec`` [T, 3] (the angle the yaw table is read at)."""
    return torch.deg2rad(yaw_pitch_roll(rotvec)[..., 0])


def _points_at(lm: LandmarkModel, ident: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """:func:`posed_points` of one model (its own frontal arrays)."""
    T = frame.shape[0]
    flat = lm.basis.reshape(lm.basis.shape[0], -1)
    n_blend = lm.n_exp if lm.skinning is not None else frame.shape[1]
    base = lm.mean.reshape(-1) + ident @ flat[:lm.n_id]
    pts = (base[None] + frame[:, :n_blend] @ flat[lm.n_id:lm.n_id + n_blend]).reshape(T, -1, 3)
    sk = lm.skinning
    if sk is None:
        return pts
    coeff = torch.cat([ident.expand(T, -1), frame[:, :lm.n_exp]], 1)
    joints = sk["joint_mean"] + torch.einsum("tk,kjc->tjc", coeff, sk["joint_basis"])        # [T, J, 3]
    J = joints.shape[1]
    pose = torch.zeros(T, J, 3, dtype=pts.dtype, device=pts.device)
    if lm.n_jaw:
        pose[:, 2] = frame[:, lm.n_exp:lm.n_exp + 3]
    if lm.n_eyes:
        e = frame[:, lm.n_exp + lm.n_jaw:lm.n_exp + lm.n_jaw + 6]
        pose[:, 3], pose[:, 4] = e[:, :3], e[:, 3:]
    rot = axis_angle_to_matrix(pose)
    if sk["posedirs"] is not None:
        pts = pts + lbs.pose_correctives(rot, sk["posedirs"])
    _, A = lbs.rigid_transforms(rot, joints, sk["parents"])
    return lbs.skin(pts, A, sk["weights"])


def build_landmark_model(head, corr, device="cpu") -> LandmarkModel:
    """Probe ``head`` with unit coefficients and restrict to the correspondence points (float64 probe); with
    a yaw table (``corr.yaw_deg``) also one model per calibration yaw, from the same probes."""
    corrs = [corr] + ([corr.at_yaw(k) for k in range(len(corr.yaw_deg))] if corr.yaw_deg is not None else [])
    models = _probe(head, corrs, device)
    if len(models) < 3:  # no table, or a table of one yaw: the points do not depend on the pose
        return models[0]
    lm = models[0]
    lm.yaw_grid = torch.deg2rad(torch.as_tensor(np.asarray(corr.yaw_deg), dtype=torch.float32)).to(device)
    lm.yaw_models = models[1:]
    return lm


def _probe(head, corrs: list, device) -> list[LandmarkModel]:
    """One :class:`LandmarkModel` per correspondence in ``corrs``, all restricted from the same mesh probes."""
    n_id, n_exp = head.n_identity, head.n_expression
    n_jaw, n_eyes = (3 if head.has_jaw else 0), (6 if head.has_eyes else 0)
    faces = head.faces
    at = lambda verts: [c.surface(verts, faces) for c in corrs]  # noqa: E731  [B, L, 3] per correspondence
    with torch.no_grad():
        p0 = [p[0] for p in at(head.vertices(batch_size=1))]
        rows = [[] for _ in corrs]
        probes = [{"identity": c} for c in torch.eye(n_id, device=head.template.device).split(32)]
        probes += [{"expression": c} for c in torch.eye(n_exp, device=head.template.device).split(32)]
        for kw in probes:
            for r, p, q in zip(rows, at(head.vertices(**kw)), p0):
                r.append(p - q)
        skinning = [_skinned_parts(head, c, device) for c in corrs]
        eps = 1e-3  # joint rotations of non-LBS models: central differences at rest (first order)
        for n, key in ((n_jaw, "jaw"), (n_eyes, "eyes")):
            if n and skinning[0] is None:
                d = torch.eye(n, device=head.template.device) * eps
                plus, minus = at(head.vertices(**{key: d})), at(head.vertices(**{key: -d}))
                for r, p, m in zip(rows, plus, minus):
                    r.append((p - m) / (2 * eps))
    return [LandmarkModel(q.float().to(device), torch.cat(r, 0).float().to(device), n_id, n_exp, n_jaw, n_eyes,
                          sk) for q, r, sk in zip(p0, rows, skinning)]


def project(points: torch.Tensor, rotvec: torch.Tensor, transl: torch.Tensor, viewmat: torch.Tensor,
            K: torch.Tensor) -> torch.Tensor:
    """Pixels ``[T, L, 2]`` of model points ``[T, L, 3]`` posed by rotvec/transl ``[T, 3]``.

    Written with elementwise products (no batched 3x3 matmuls, which are slow on CPU for large T*L).
    """
    R = viewmat[:3, :3] @ axis_angle_to_matrix(rotvec)                  # [T, 3, 3] model -> camera
    t = transl @ viewmat[:3, :3].T + viewmat[:3, 3]                      # [T, 3]
    x, y, z = points.unbind(-1)
    cam = [R[:, i, 0, None] * x + R[:, i, 1, None] * y + R[:, i, 2, None] * z + t[:, i, None] for i in range(3)]
    inv_z = 1.0 / cam[2].clamp_min(1e-6)
    u = K[0, 0] * cam[0] * inv_z + K[0, 1] * cam[1] * inv_z + K[0, 2]
    v = K[1, 1] * cam[1] * inv_z + K[1, 2]
    return torch.stack([u, v], -1)


def pnp_init(model_pts: np.ndarray, image_pts: np.ndarray, K: np.ndarray, viewmat: np.ndarray):
    """Per-frame head pose from PnP: model_pts [L, 3], image_pts [T, L, 2] -> rotvec, transl [T, 3]."""
    Rv, tv = viewmat[:3, :3].astype(np.float64), viewmat[:3, 3].astype(np.float64)
    T = image_pts.shape[0]
    rot, tr = np.zeros((T, 3)), np.zeros((T, 3))
    prev = None
    for t in range(T):
        ok = False
        if prev is not None:
            ok, rc, tc = cv2.solvePnP(model_pts.astype(np.float64), image_pts[t].astype(np.float64),
                                      K.astype(np.float64), None, prev[0].copy(), prev[1].copy(),
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            ok, rc, tc = cv2.solvePnP(model_pts.astype(np.float64), image_pts[t].astype(np.float64),
                                      K.astype(np.float64), None, flags=cv2.SOLVEPNP_EPNP)
        prev = (rc, tc)
        Rc = cv2.Rodrigues(rc)[0]
        R = Rv.T @ Rc
        rot[t] = cv2.Rodrigues(R)[0][:, 0]
        tr[t] = Rv.T @ (tc[:, 0] - tv)
    return rot, tr


@dataclass
class FitWeights:
    landmark: float = 1.0          # px^2 residual (per landmark, weighted)
    identity: float = 0.002        # ||identity||^2
    expression: float = 0.5        # mean ||expression||^2 per frame
    joints: float = 10.0           # ||jaw||^2 + ||eyes||^2 (radians)
    smooth_expression: float = 100.0  # ||d expression / dt||^2
    smooth_pose: float = 3.0          # ||d^2 pose||^2, pose in pixel units (rot * 0.1 f, transl * f)
    iterations: int = 300


def fit_landmarks(lm: LandmarkModel, targets: np.ndarray, weights: np.ndarray, contiguous: np.ndarray,
                  K: torch.Tensor, viewmat: torch.Tensor, fw: FitWeights = FitWeights(),
                  exp_bounds: tuple[float, float] | None = None, device="cpu") -> dict[str, np.ndarray]:
    """Fit all frames at once.

    targets [T, L, 2] crop pixels of the fitted (valid) frames, weights [L], contiguous [T] bool (frame t
    directly follows frame t-1 in the video; smoothness only across contiguous frames).
    Returns numpy arrays identity [n_id], expression [T, n_exp], jaw [T, 3], eyes [T, 6], rotvec, translation
    [T, 3], projected [T, L, 2], error [T] (mean unweighted pixel distance).
    """
    threads = torch.get_num_threads()
    if str(device) == "cpu":
        torch.set_num_threads(1)  # tiny tensors: one thread avoids sync overhead (and a loaded machine)
    try:
        return _fit(lm, targets, weights, contiguous, K, viewmat, fw, exp_bounds, device)
    finally:
        torch.set_num_threads(threads)


def _fit(lm, targets, weights, contiguous, K, viewmat, fw, exp_bounds, device):
    T = targets.shape[0]
    K, viewmat = K.to(device), viewmat.to(device)
    f = float(K[0, 0])
    tgt = torch.as_tensor(targets, dtype=torch.float32, device=device)
    w = torch.as_tensor(weights, dtype=torch.float32, device=device)
    w = w / w.mean()
    rot0, tr0 = pnp_init(lm.mean.cpu().numpy(), targets, K.cpu().numpy(), viewmat.cpu().numpy())
    rotvec = torch.tensor(rot0, dtype=torch.float32, device=device, requires_grad=True)
    transl = torch.tensor(tr0, dtype=torch.float32, device=device, requires_grad=True)
    n_frame = lm.n_exp + lm.n_jaw + lm.n_eyes
    ident = torch.zeros(lm.n_id, device=device, requires_grad=True)
    init = 0.05 if exp_bounds is not None and exp_bounds[0] >= 0 else 0.0
    frame = torch.full((T, n_frame), 0.0, device=device)
    frame[:, :lm.n_exp] = init
    frame.requires_grad_(True)
    cont = torch.as_tensor(contiguous, dtype=torch.bool, device=device)
    opt = torch.optim.Adam([{"params": [rotvec], "lr": 0.01}, {"params": [transl], "lr": 0.002},
                            {"params": [ident], "lr": 0.05}, {"params": [frame], "lr": 0.03}])
    n_it = max(1, fw.iterations)
    rigid_only = n_it // 6
    # pose-only warm-up for the first sixth, then all unknowns with the learning rate decaying 10x
    decay = lambda i: 0.1 ** (max(0, i - rigid_only) / max(1, n_it - rigid_only))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, decay)

    def points():
        return posed_points(lm, ident, frame, frame_yaw(rotvec.detach()))

    for it in range(n_it):
        opt.zero_grad(set_to_none=True)
        pts = points()
        proj = project(pts, rotvec, transl, viewmat, K)
        res = ((proj - tgt) ** 2).sum(-1)
        loss = fw.landmark * (res * w).mean()
        if it >= rigid_only:
            ex = frame[:, :lm.n_exp]
            loss = loss + fw.identity * (ident ** 2).sum()
            loss = loss + fw.expression * (ex ** 2).sum(-1).mean()
            if n_frame > lm.n_exp:
                loss = loss + fw.joints * (frame[:, lm.n_exp:] ** 2).sum(-1).mean()
            loss = loss + fw.smooth_expression * _gap_first_diff(frame, cont)
        pose_px = torch.cat([rotvec * (0.1 * f), transl * f], -1)
        loss = loss + fw.smooth_pose * _gap_second_diff(pose_px, cont)
        loss.backward()
        if it < rigid_only:
            ident.grad = None
            frame.grad = None
        opt.step()
        sched.step()
        if exp_bounds is not None:
            with torch.no_grad():
                frame[:, :lm.n_exp].clamp_(*exp_bounds)
    with torch.no_grad():
        pts = points()
        proj = project(pts, rotvec, transl, viewmat, K)
        err = (proj - tgt).norm(dim=-1).mean(-1)
    fr = frame.detach().cpu().numpy()
    zeros3 = np.zeros((T, 3), np.float32)
    return {
        "identity": ident.detach().cpu().numpy(),
        "expression": fr[:, :lm.n_exp],
        "jaw": fr[:, lm.n_exp:lm.n_exp + 3] if lm.n_jaw else zeros3,
        "eyes": fr[:, lm.n_exp + lm.n_jaw:] if lm.n_eyes else np.zeros((T, 6), np.float32),
        "rotvec": rotvec.detach().cpu().numpy(),
        "translation": transl.detach().cpu().numpy(),
        "projected": proj.cpu().numpy(),
        "error": err.cpu().numpy(),
    }


def _gap_first_diff(x: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
    """Mean squared first difference between frames t-1, t where ``cont[t]`` (x [T, C])."""
    if x.shape[0] < 2:
        return x.sum() * 0
    m = cont[1:].to(x.dtype)
    return (((x[1:] - x[:-1]) ** 2).sum(-1) * m).sum() / m.sum().clamp_min(1)


def _gap_second_diff(x: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
    """Mean squared second difference over frame triplets that are contiguous in the video."""
    if x.shape[0] < 3:
        return x.sum() * 0
    d = x[2:] - 2 * x[1:-1] + x[:-2]
    m = (cont[2:] & cont[1:-1]).to(x.dtype)
    return ((d ** 2).sum(-1) * m).sum() / m.sum().clamp_min(1)
