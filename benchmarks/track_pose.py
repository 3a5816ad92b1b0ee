"""Head-pose accuracy of the tracker's fit against ground truth: the head model rendered at known poses.

The neutral ICT head with a random identity (seeded) is rendered with the tracker's own shading
(``track.raster.render_shaded``, the correspondence derivation's renderer) at every (yaw, pitch) of the
grid, MediaPipe runs on each render as it does on video frames (static mode: no tracking state), and the
landmark fit recovers the pose of all renders jointly (one identity, no smoothness: the renders are not a
sequence). Prints the yaw and pitch error (fitted minus true, degrees). Test yaws default to values between
the calibration yaws of the correspondence table (``correspond.CALIBRATION_YAWS``, every 10 degrees), and the
identity differs from the neutral head the table was derived on, so the table is not scored on its own data.
``--frontal`` drops the yaw table (fixed frontal correspondences: the tracker before the table).

    python benchmarks/track_pose.py [--yaws -35,-25,...] [--pitches -10,0,10] [--seed 0] [--frontal] [--verbose]

Needs ICT-FaceKit set up (``dejavu setup ict``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dejavu_cli.head.pose import axis_angle_to_matrix, yaw_pitch_roll  # noqa: E402
from dejavu_cli.head.registry import load_head  # noqa: E402
from dejavu_cli.head.registry import spec as head_spec  # noqa: E402
from dejavu_cli.render.camera import DEFAULT_FOV_DEG, default_viewmat, focal_from_fov, intrinsics  # noqa: E402
from dejavu_cli.track.config import TrackConfig  # noqa: E402
from dejavu_cli.track.correspond import correspondence_for, feature_weights  # noqa: E402
from dejavu_cli.track.fit import FitWeights, build_landmark_model, fit_landmarks  # noqa: E402
from dejavu_cli.track.mediapipe_env import denormals_kept, import_mediapipe  # noqa: E402
from dejavu_cli.track.raster import render_shaded  # noqa: E402

SIZE = 512  # the tracker's default crop size


def turned(verts: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Vertices [V, 3] rotated by R = Ry(yaw) Rx(-pitch) (docs/conventions.md#head-pose), degrees."""
    axes = torch.tensor([[0.0, np.radians(yaw), 0.0], [-np.radians(pitch), 0.0, 0.0]], dtype=torch.float64)
    Ry, Rx = axis_angle_to_matrix(axes).numpy()
    return verts @ (Ry @ Rx).T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--yaws", default="-35,-25,-15,-5,5,15,25,35")
    ap.add_argument("--pitches", default="-10,0,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frontal", action="store_true", help="fixed frontal correspondences (no yaw table)")
    ap.add_argument("--verbose", action="store_true", help="one line per render")
    args = ap.parse_args()
    head = load_head("ict")
    corr = correspondence_for(head)
    if args.frontal:
        corr = dataclasses.replace(corr, yaw_deg=None, yaw_faces=None, yaw_bary=None)
    lm = build_landmark_model(head, corr)
    g = torch.Generator().manual_seed(args.seed)
    ident = 0.5 * torch.randn(1, head.n_identity, generator=g)
    with torch.no_grad():
        verts = head.vertices(identity=ident)[0].double().numpy()
    V, K = default_viewmat(), intrinsics(focal_from_fov(DEFAULT_FOV_DEG, SIZE), SIZE, SIZE)
    faces, region = head.faces.numpy(), head.face_region.numpy()
    truth, targets = [], []
    mp = import_mediapipe()
    with denormals_kept(), mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                           refine_landmarks=True) as fm:
        for pitch in (float(p) for p in args.pitches.split(",")):
            for yaw in (float(y) for y in args.yaws.split(",")):
                image, _, _ = render_shaded(turned(verts, yaw, pitch), faces, region, V.numpy().astype(np.float64),
                                            K.numpy().astype(np.float64), SIZE)
                res = fm.process(image)
                if not res.multi_face_landmarks:
                    print(f"no face found at yaw {yaw:+.0f}, pitch {pitch:+.0f}")
                    continue
                targets.append([(p.x * SIZE, p.y * SIZE) for p in res.multi_face_landmarks[0].landmark])
                truth.append((yaw, pitch))
    truth = np.array(truth)
    tgt = np.array(targets, np.float32)[:, corr.mp_ids]
    fit = fit_landmarks(lm, tgt, feature_weights(corr.mp_ids, corr.weights, TrackConfig().feature_weight),
                        np.zeros(len(tgt), bool), K, V, FitWeights(), exp_bounds=head_spec("ict").expression_bounds)
    ypr = yaw_pitch_roll(torch.as_tensor(fit["rotvec"])).numpy()
    err_yaw, err_pitch = ypr[:, 0] - truth[:, 0], ypr[:, 1] - truth[:, 1]
    if args.verbose:
        for (y, p), ey, ep, px in zip(truth, err_yaw, err_pitch, fit["error"]):
            print(f"yaw {y:+5.0f} pitch {p:+4.0f}: yaw error {ey:+5.2f}, pitch error {ep:+5.2f}, {px:.2f} px")
    rms = lambda e: float(np.sqrt((e ** 2).mean()))  # noqa: E731
    print(f"| {'frontal points' if args.frontal else 'yaw table'} | seed {args.seed} | {len(truth)} renders | "
          f"yaw rms {rms(err_yaw):.2f} (mean {err_yaw.mean():+.2f}, max {np.abs(err_yaw).max():.2f}) | "
          f"pitch rms {rms(err_pitch):.2f} (mean {err_pitch.mean():+.2f}) | {fit['error'].mean():.2f} px | "
          f"identity error {float(np.linalg.norm(fit['identity'] - ident[0].numpy())):.1f} |")


if __name__ == "__main__":
    main()
