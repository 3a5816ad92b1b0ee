"""Configuration of ``dejavu create`` (personalization, paper section 3.4) and its two presets.

``paper`` follows the paper (section 4.2); ``standard`` (the default) is sized so a 15 s clip finishes on two
CPU cores in under 10 minutes including tracking, ``fast`` in about 2 minutes (a quick look). Where the paper
and the official code differ (research notes
section 1.6) the ``paper`` preset follows the paper; docs/create.md lists each difference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dejavu_cli.config import DEVICE_HELP, check_config, check_device_name, knob
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import DEFAULT_HEAD, default_uv_size, head_help, spec

PRESETS = ("standard", "fast", "paper")


@dataclass
class CreateConfig:
    preset: str = knob("standard", "Preset: standard (512^2 renders, UV 320, 600 steps: under 10 minutes for a "
                                   "15 s clip on 2 CPU cores), fast (128^2, UV 128, 300 steps: about 2 minutes) "
                                   "or paper (512^2, the head's UV size, batch 8; for a GPU).", choices=PRESETS)
    head: str = knob(DEFAULT_HEAD, head_help(), metavar="HEAD")
    steps: int = knob(600, "Total optimization steps (stage 1 + stage 2, split 3:7 as the paper).", min=1,
                     max=1_000_000)
    stage1_fraction: float = knob(0.3, "Fraction of the steps spent in stage 1 (global UV rectification).",
                                   min=0.0, max=1.0)
    resolution: int = knob(512, "Training render resolution (square, pixels).", min=16, max=2048)
    uv_size: int = knob(320, "UV Gaussian map size S (the map is S x S; valid texels become Gaussians).",
                       min=16, max=1024)
    batch: int = knob(4, "Frames per optimization step (one renderer call per step).", min=1, max=256)
    n_blend: int = knob(10, "Number D of expression-aware blendmaps (paper: 10; 0: stage 1 only).", min=0, max=10)
    lr: float = knob(0.05, "Adam learning rate (paper: 0.05).", min=0.0, max=10.0)
    lr_pose: float = knob(0.0, "Adam learning rate of a per-frame head-pose refinement in stage 2 (units "
                               "0.01 rad and 1 mm; same decay as lr). The training frames' tracked poses move "
                               "relative to each other, not as a whole; held-out frames keep theirs. 0: off.",
                          min=0.0, max=10.0)
    lr_decay: float = knob(0.9, "Learning-rate factor applied every lr_every steps (paper: 0.9).")
    lr_every: int = knob(100, "Steps between learning-rate decays (paper: 100).")
    w_l1: float = knob(1.0, "Weight of the L1 photometric loss.")
    w_ssim: float = knob(0.05, "Weight of the SSIM loss (1 - SSIM).")
    w_lpips: float = knob(0.5, "Weight of LPIPS (used only when the lpips package works; it does not offline).")
    w_pos: float = knob(0.5, "Weight of the position regularizer ||delta_pos * M_mu||.")
    w_scale: float = knob(5e-5, "Weight of the scale regularizer ||delta_s||.")
    w_shape: float = knob(0.3, "Weight of the anisotropy and maximum-scale regularizer (no needles; 0: off).",
                          min=0.0)
    max_scale: float = knob(0.008, "Longest Gaussian axis (standard deviation, metres) the shape regularizer "
                                   "allows for free.", min=1e-5, max=1.0)
    max_ratio: float = knob(8.0, "Longest over middle Gaussian axis the shape regularizer allows for free.",
                            min=1.0, max=1000.0)
    scale_cap: float = knob(3.0, "After training, the longest axis of every Gaussian fewer than a quarter of the "
                                 "training frames saw is clamped at this multiple of max_scale (0: off; 3 x 8 mm "
                                 "removes the blurred halos above the frame's edge without costing PSNR).",
                            min=0.0, max=100.0)
    w_flat: float = knob(0.0, "Weight of the normal-thickness regularizer: face and ear Gaussians thicker than "
                              "flat_thickness along the surface normal are pulled thin (frontal views cannot see "
                              "their depth; thick ones bulge out of the silhouette when the head turns). 0: off.",
                         min=0.0)
    flat_thickness: float = knob(0.0005, "Thickness (standard deviation along the normal, metres) the "
                                         "normal-thickness regularizer allows for free.", min=1e-6, max=0.1)
    cull_back: bool = knob(True, "Training renders hide the Gaussians of skin, scalp, ears and eyeballs whose "
                                 "surface faces away from the camera (the head is opaque), so frontal frames "
                                 "cannot train the back of the head or the eyes' insides into the face.")
    cull_cos: float = knob(-0.5, "Facing cosine below which cull_back hides a texel (ramped over +-0.1; "
                                 "slightly negative keeps the rim's Gaussians).", min=-1.0, max=1.0)
    w_opacity: float = knob(0.0, "Weight of the opacity floor on texels the video rarely saw (face, scalp, "
                                 "ears): nothing behind the scalp shows through (0: off).", min=0.0)
    visibility_gain: float = knob(4.0, "Position/scale regularizers grow to 1 + GAIN times their weight on "
                                       "texels no training frame saw (0: the paper's uniform weights).", min=0.0)
    random_background: bool = knob(True, "Composite render and target over a random colour per frame and step "
                                         "(the target's mask as alpha), so no backdrop colour trains into the head.")
    mirror_fill: bool = knob(True, "After training, texels no frame saw take their left-right mirror texel's "
                                   "maps when that one was seen, else the region's seen colour (the hair on "
                                   "the scalp), opaque, on the head surface.")
    hair_volume: float = knob(0.0, "Start the scalp's Gaussians this far (metres) out along the head's normals "
                                   "(mean offsets from the method itself, where the paper's network supplies "
                                   "them): the hair's volume, which the targets keep up to 2 cm out. 0: on the "
                                   "scalp (1 cm measured: even on a head-turn clip, -1.2 dB on flat hair).",
                              min=0.0, max=0.05)
    close_scalp: bool = knob(True, "After training, scalp texels fewer than a quarter of the training frames saw "
                                   "that learned to be transparent become opaque in the seen hair's colour (no "
                                   "holes in the side of the head when it turns; costs about 0.1 dB on a "
                                   "frontal clip's held-out frames).")
    blend_fallback: bool = knob(False, "Beyond the training frames' range of expressions the blendmap mix falls "
                                      "back smoothly to the global map (no extrapolated blends).")
    outside_weight: float = knob(0.1, "Loss weight of crop pixels outside the filmed video frame (the tracker pads "
                                      "them white): 0 ignores them, 1 treats them as background. A little keeps "
                                      "unfilmed Gaussians from stretching freely; metrics never count them.",
                                min=0.0, max=1.0)
    mask_edge: int = knob(0, "Pixels (at the training resolution) on either side of the target mask's edge "
                             "that carry no loss: the person matte's edge mixes in the backdrop, which would "
                             "train into the head's rim as a light fringe. 0: every kept pixel trains.",
                          min=0, max=32)
    heldout_fraction: float = knob(0.1, "Last fraction of frames held out for evaluation (paper: 10%).",
                                    min=0.01, max=0.9)
    train_frames: str = knob("", "Tracking rows to train on: ranges and indices such as 0:40,52,60:90 (end "
                                 "exclusive) or @FILE with one index per line; default: all but the held-out "
                                 "frames.", metavar="SPEC")
    holdout_frames: str = knob("", "Tracking rows to score (same SPEC form); default: the last "
                                   "--heldout-fraction of the frames, or those not in --train-frames.",
                               metavar="SPEC")
    colour_init: bool = knob(True, "Start colours from the video (project frames onto texels) instead of grey.")
    scale_init: str = knob("auto", "Initial Gaussian size: 'spacing' (0.6 x the texel spacing on the tracked "
                                   "mesh), 'paper' (log-scale -8.3533, sized for the network's offsets) or "
                                   "'auto' (spacing without --checkpoint, paper with one).",
                           choices=("auto", "spacing", "paper"))
    colour_frames: int = knob(8, "Frames projected for the colour initialization.", min=1, max=1000)
    checkpoint: str = knob("", "Reconstruction-network checkpoint for the mean offsets (empty: zeros).")
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    seed: int = knob(0, "Random seed (same seed on CPU -> identical maps).", min=0)
    eval_every: int = knob(0, "Evaluate held-out PSNR every N steps for the loss curve (0: only at the end).",
                          min=0)
    eval_size: int = knob(512, "Resolution (square) at which the report scores the held-out frames, whatever "
                               "--resolution trains at (the paper scores at 512; at most the tracking crop size).",
                      min=64, max=2048)
    max_eval_frames: int = knob(100, "At most this many held-out frames (evenly spaced) are rendered for the metrics.",
                               min=1)
    checkpoint_every: int = knob(50, "Write the resume checkpoint AVATAR.ckpt.npz every N steps and at least every "
                                     "5 minutes, so a killed or crashed run continues with --resume from there "
                                     "(0: only on Ctrl-C).", min=0, metavar="N")
    threads: int = knob(0, "torch CPU threads (0: leave torch's default).", min=0, max=1024)


def preset_config(name: str, **overrides) -> CreateConfig:
    """The :class:`CreateConfig` of preset ``name`` with ``overrides`` (``None`` values ignored)."""
    if name not in PRESETS:
        raise DejavuError(f"--preset must be one of {', '.join(PRESETS)} (got {name!r})")
    if name == "paper":
        uv = default_uv_size(overrides.get("head") or DEFAULT_HEAD)
        base = CreateConfig(preset="paper", steps=800, resolution=512, uv_size=uv, batch=8)
    elif name == "fast":
        base = CreateConfig(preset="fast", steps=300, resolution=128, uv_size=128)
    else:
        base = CreateConfig(preset="standard")
    fields = {f.name for f in dataclasses.fields(CreateConfig)}
    clean = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(clean) - fields
    if unknown:
        raise TypeError(f"unknown CreateConfig fields: {sorted(unknown)}")
    cfg = dataclasses.replace(base, **clean)
    validate(cfg)
    return cfg


#: The fields a preset sets (the CLI's "Default: the preset's" options).
PRESET_FIELDS = ("steps", "resolution", "uv_size", "batch")


def preset_note(name: str) -> str:
    """``"Default: the preset's (fast 300, paper 800)."`` for a field a preset sets."""
    std, fast, paper = preset_config("standard"), preset_config("fast"), preset_config("paper")
    if name == "uv_size":
        return (f"Default: the preset's (standard {std.uv_size}, fast {fast.uv_size}, paper: the head model's "
                f"default).")
    return (f"Default: the preset's (standard {getattr(std, name)}, fast {getattr(fast, name)}, "
            f"paper {getattr(paper, name)}).")


def validate(cfg: CreateConfig) -> None:
    """Raise :class:`DejavuError` for option values no run can use."""
    check_config(cfg)  # the limits declared on the fields
    spec(cfg.head)     # one line for an unknown head model
    check_device_name(cfg.device)


def stage_steps(cfg: CreateConfig) -> tuple[int, int]:
    """(stage-1 steps, stage-2 steps), split 3:7 by default; both stages get at least one step when
    ``steps >= 2`` and the fraction is strictly between 0 and 1."""
    s1 = int(round(cfg.steps * cfg.stage1_fraction))
    if 0 < cfg.stage1_fraction < 1 and cfg.steps >= 2:
        s1 = min(max(s1, 1), cfg.steps - 1)
    return s1, cfg.steps - s1
