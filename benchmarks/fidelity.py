"""Fidelity as users see it: held-out and novel-view PSNR/SSIM at 512, artifact figures, contact sheets.

Runs on the shared development clips (never committed, outputs stay in --out):
- ``talking``: ../shared/data/videos/talking_woman_15s.mp4, default split (last 10 % held out);
- ``turns``: ../shared/data/videos/head_turns_12s.mp4 split by yaw: train on |yaw| < 10 deg, score on
  |yaw| > 18 deg (novel views);
- ``demo``: the public sample clip of ``dejavu demo`` (downloaded once from PyPI), default split.
For each: create (preset and extra CreateConfig overrides from the command line), the report's 512 scores,
spikes and see-through, the wall time, and a contact sheet PNG (turntable 0-180 deg, neutral + 4
expressions). Prints one table (markdown) and writes ``fidelity.json`` beside the sheets.

    python benchmarks/fidelity.py --out /tmp/fid --clips talking,turns,demo [--preset standard] [--set steps=600]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "videos"
CLIPS = {"talking": SHARED / "talking_woman_15s.mp4", "turns": SHARED / "head_turns_12s.mp4", "demo": None}
TRAIN_YAW, SCORE_YAW = 10.0, 18.0


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def yaw_split(track, out_dir: Path) -> tuple[str, str]:
    """@file SPECs: rows with |yaw| < TRAIN_YAW (train) and |yaw| > SCORE_YAW (held out)."""
    from dejavu_cli.track.seen import head_angles

    yaw = head_angles(track.rotvec)[:, 0]
    valid = np.asarray(track.valid)
    train = np.flatnonzero(valid & (np.abs(yaw) < TRAIN_YAW))
    held = np.flatnonzero(valid & (np.abs(yaw) > SCORE_YAW))
    paths = []
    for name, rows in (("train", train), ("holdout", held)):
        p = out_dir / f"turns.{name}.txt"
        p.write_text("\n".join(str(int(r)) for r in rows) + "\n")
        paths.append(f"@{p}")
    print(f"turns: {len(train)} frames with |yaw| < {TRAIN_YAW:g}, {len(held)} with |yaw| > {SCORE_YAW:g} "
          f"(yaw {yaw[valid].min():+.0f} to {yaw[valid].max():+.0f})", file=sys.stderr)
    return paths[0], paths[1]


def run_clip(name: str, video: Path, out_dir: Path, preset: str, overrides: dict, sheet_size: int) -> dict:
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.create.config import preset_config
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.track import api as track_api
    from dejavu_cli.usecases.contact_sheet import contact_sheet, write_contact_sheet
    from dejavu_cli.usecases.create_video import create_from_video

    track, _, _ = track_api.track_cached(video, track_api.TrackConfig(), progress=True)
    extra = dict(overrides)
    if name == "turns":
        extra["train_frames"], extra["holdout_frames"] = yaw_split(track, out_dir)
    cfg = preset_config(preset, **extra)
    t0 = time.perf_counter()
    _, rep, (avatar_path, _, png) = create_from_video(video, out_dir / f"{name}.npz", cfg, progress=True,
                                                      log=lambda s: print(s, file=sys.stderr))
    wall = time.perf_counter() - t0
    avatar = load_avatar(avatar_path)
    sheet = write_contact_sheet(out_dir / f"{name}.sheet.png",
                                contact_sheet(Animator(avatar, load_head(avatar.head)), sheet_size))
    art, cov = rep["artifacts"], rep["coverage"]
    return {"clip": name, "preset": preset, "overrides": overrides, "psnr": rep["psnr"], "ssim": rep["ssim"],
            "eval_size": rep["eval_size"], "eval_frames": rep["eval_frames"], "psnr_train_res": rep["psnr_train_res"],
            "train_resolution": rep["train_resolution"], "spikes": art["spikes"], "see_through": art["see_through"],
            "head_seen": cov["head_seen"]["total"], "gaussians": rep["gaussians"], "wall_s": round(wall, 1),
            "guessed": cov.get("guessed"), "seconds_create": rep["seconds_total"],
            "sheet": str(sheet), "report_png": str(png)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="folder for avatars, reports, sheets, fidelity.json")
    ap.add_argument("--clips", default="talking,turns,demo")
    ap.add_argument("--preset", default="standard")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="CreateConfig override, e.g. --set steps=600 (repeatable)")
    ap.add_argument("--sheet-size", type=int, default=512)
    args = ap.parse_args(argv)

    import torch

    from dejavu_cli.device import configure_torch
    from dejavu_cli.io.sample import ensure_sample

    configure_torch(torch.device("cpu"))
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    overrides = {k: _value(v) for k, v in overrides.items()}
    rows = []
    for name in args.clips.split(","):
        video = CLIPS[name] or ensure_sample(log=lambda s: print(s, file=sys.stderr))
        rows.append(run_clip(name, Path(video), args.out, args.preset, overrides, args.sheet_size))
        (args.out / "fidelity.json").write_text(json.dumps(rows, indent=1))
    print("| clip | held-out | PSNR (dB) | SSIM | at training res (dB) | spikes | see-through | head seen | "
          "Gaussians | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        split = "|yaw| > 18 deg" if r["clip"] == "turns" else "last 10 %"
        print(f"| {r['clip']} | {split}, {r['eval_frames']} frames, {r['eval_size']}px | {r['psnr']:.2f} | "
              f"{r['ssim']:.3f} | {r['psnr_train_res']:.2f} at {r['train_resolution']}px | {r['spikes']:.2%} | "
              f"{r['see_through']:.2f} | {r['head_seen']:.0%} | {r['gaussians']:,} | {r['wall_s']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
