"""What users see, measured: 512 scoring (create's report = dejavu evaluate), spikes, see-through."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from dejavu_cli.avatar.quality import normalized_correlation, see_through, spike_share
from dejavu_cli.create.config import CreateConfig


def test_spike_share_on_known_scales():
    scales = torch.tensor([[0.002, 0.002, 0.002],     # round, small
                           [0.001, 0.002, 0.015],     # longest axis 1.5 cm -> spike
                           [0.0001, 0.0002, 0.003],   # 15x the middle axis -> spike
                           [0.001, 0.001, 0.009],     # 9x, under 1 cm: fine
                           [0.001, 0.001, 0.05]])     # invisible: not counted
    opac = torch.tensor([0.9, 0.9, 0.9, 0.9, 0.01])
    s = spike_share(scales, opac)
    assert s["visible"] == 4 and s["spikes"] == 0.5 and s["long_axis_over_1cm"] == 0.25
    assert s["elongated_over_10x"] == 0.25
    assert spike_share(scales, torch.zeros(5))["spikes"] == 0.0


def test_normalized_correlation_reference_values():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(32, 32, generator=g)
    m = torch.ones(32, 32, dtype=torch.bool)
    assert normalized_correlation(a, a, m) == pytest.approx(1.0, abs=0.01)   # std 0.29 >> the 0.02 floor
    assert normalized_correlation(a, 1 - a, m) == pytest.approx(-1.0, abs=0.01)
    assert normalized_correlation(a, 0.5 * a + 0.2, m) == pytest.approx(1.0, abs=0.02)  # gain/offset: no matter
    assert normalized_correlation(a, torch.full_like(a, 0.5), m) == 0.0       # a flat back
    noise = 0.5 + 1e-4 * torch.randn(32, 32, generator=g)                    # flat to the eye: rounding noise
    assert abs(normalized_correlation(a, noise, m)) < 0.01
    assert normalized_correlation(a, a, m, floor=0.0) == pytest.approx(1.0)  # the plain NCC
    assert normalized_correlation(a, a, torch.zeros_like(m)) == 0.0


def _template(test_head, scalp_logit: float, scalp_grey: float | None):
    """The test head's template avatar with a striped face; the scalp's opacity and colour set."""
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar
    from dejavu_cli.head.base import REGION_NAMES
    from dejavu_cli.uv.layout import build_layout

    layout = build_layout(test_head, 64)
    av = template_avatar(test_head, layout)
    init = av.init.copy()
    region = layout.region.numpy()
    pos = layout.surface(test_head.template[None])[0].numpy()
    init[:, 10:13] = np.sin(60 * pos[:, :1] + 3 * np.arange(3)) * 1.5     # a strongly patterned face
    init[:, 9] = 4.0
    init[:, 3:6] = math.log(0.006)
    scalp = region == REGION_NAMES.index("scalp")
    init[scalp, 9] = scalp_logit
    if scalp_grey is not None:
        init[scalp, 10:13] = scalp_grey
    return Animator(dataclasses.replace(av, init=init), test_head)


def test_see_through_separates_a_transparent_scalp(test_head):
    ghost = see_through(_template(test_head, scalp_logit=-12.0, scalp_grey=None), size=96)
    solid = see_through(_template(test_head, scalp_logit=6.0, scalp_grey=0.0), size=96)
    assert ghost > 0.5 > 0.2 > solid, (ghost, solid)


@pytest.fixture(scope="module")
def created(test_head, tmp_path_factory):
    from dejavu_cli.create.run import create_avatar
    from dejavu_cli.fit.synthetic import make_problem

    track, crops, _ = make_problem(test_head, uv_size=32, size=48, n_frames=20, seed=0)
    out = tmp_path_factory.mktemp("fid") / "a.npz"
    cfg = CreateConfig(steps=12, resolution=32, uv_size=32, batch=2, device="cpu", max_eval_frames=4, seed=0)
    _, rep = create_avatar(track, None, cfg, out, crops=crops, progress=False)
    return track, crops, out, rep


def test_report_scores_at_the_crop_size_with_labelled_training_figures(created):
    track, _, out, rep = created
    assert rep["eval_size"] == 48 and rep["train_resolution"] == 32      # 512 is capped at the crop size
    assert rep["psnr"] != rep["psnr_train_res"] and math.isfinite(rep["psnr_train_res"])
    assert set(rep["artifacts"]) >= {"spikes", "see_through"} and 0 <= rep["artifacts"]["spikes"] <= 1
    cov = rep["coverage"]
    assert set(cov) == {"pose_range_deg", "head_seen", "uv_seen", "capture_hint", "guessed", "scale_capped",
                        "scalp_closed"}
    assert isinstance(cov["scale_capped"], int) and cov["scale_capped"] >= 0
    assert isinstance(cov["scalp_closed"], int) and cov["scalp_closed"] >= 0
    assert cov["guessed"]["mirrored"] + cov["guessed"]["region_prior"] > 0   # the synthetic clip is frontal
    assert 0 < cov["head_seen"]["total"] <= 1 and 0 < cov["uv_seen"]["total"] <= 1 and "scalp" in cov["uv_seen"]
    assert json.loads(out.with_name("a.report.json").read_text())["eval_size"] == 48


def test_scoring_the_saved_avatar_reproduces_the_report(created, test_head):
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.fit.scoring import score_frames

    track, crops, out, rep = created
    rows = np.array(rep["heldout_rows"])
    res = score_frames(Animator(load_avatar(out), test_head), track, crops[rows], rows, size=48)
    assert res["psnr"] == pytest.approx(rep["psnr"], abs=1e-3)
    assert [f["index"] for f in res["frames"]] == rows.tolist()
    assert [round(f["psnr"], 3) for f in res["frames"]] == [round(p, 3) for p in rep["psnr_per_frame"]]


@pytest.mark.slow
def test_evaluate_cli_json_on_a_written_video(created, cli, tmp_path, capsys):
    """The CLI on a real MP4 of the synthetic frames: one JSON object of the documented form."""
    from dejavu_cli.io.download import sha256_file
    from dejavu_cli.io.video_writer import write_video
    from dejavu_cli.track.api import save_track

    track, crops, out, rep = created
    video = tmp_path / "synthetic.mp4"
    write_video(video, iter(crops), 10.0, (48, 48))
    tfile = tmp_path / "synthetic.track.npz"
    save_track(tfile, dataclasses.replace(track, video_sha256=sha256_file(video)))
    rows = rep["heldout_rows"]
    spec = ",".join(str(r) for r in rows)
    assert cli("evaluate", out, video, "--track", tfile, "--frames", spec, "--size", 48, "--device", "cpu",
               "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"psnr", "ssim", "lpips", "size", "frames"} and res["size"] == 48 and res["lpips"] is None
    assert [f["index"] for f in res["frames"]] == rows and set(res["frames"][0]) == {"index", "psnr", "ssim"}
    assert abs(res["psnr"] - rep["psnr"]) < 3.0          # H.264 of the frames costs a little
    assert cli("evaluate", out, video, "--track", tfile, "--frames", "0:999") == 1
    assert "outside" in capsys.readouterr().err


def test_expression_presets_follow_arkit_names():
    from dejavu_cli.avatar.expressions import PRESETS, preset_expression
    from dejavu_cli.errors import DejavuError

    names = ["jawOpen", "mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp"]
    smile = preset_expression(names, "smile")
    assert smile.tolist() == [0, 1, 1, 0, 0, 0]
    assert preset_expression(names, "surprise")[[0, 5]].tolist() == pytest.approx([0.35, 1.0])
    assert set(PRESETS) >= {"smile", "surprise", "frown", "blink"}
    with pytest.raises(DejavuError, match="no expression named like browDown"):
        preset_expression(names, "frown")
    with pytest.raises(DejavuError, match="unknown expression preset"):
        preset_expression(names, "wink")


def test_render_sheet_cli(cli, tmp_path, test_head):
    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.uv.layout import build_layout

    av = save_avatar(tmp_path / "t.npz", template_avatar(test_head, build_layout(test_head, 32)))
    assert cli("render", av, "--sheet", "-o", tmp_path / "sheet", "--size", 64, "--device", "cpu") == 0
    import cv2

    img = cv2.imread(str(tmp_path / "sheet.png"))
    assert img.shape == (128, 320, 3) and img.std() > 5


def test_texel_visibility_front_and_back(test_head):
    from dejavu_cli.fit.targets import scale_intrinsics
    from dejavu_cli.fit.visibility import seen_summary, texel_visibility
    from dejavu_cli.head.base import REGION_NAMES
    from dejavu_cli.render.camera import DEFAULT_FOV_DEG, default_viewmat, focal_from_fov, intrinsics
    from dejavu_cli.uv.layout import build_layout

    layout = build_layout(test_head, 48)
    K = scale_intrinsics(intrinsics(focal_from_fov(DEFAULT_FOV_DEG, 256), 256, 256), 256, 128)
    V = default_viewmat()
    verts = test_head.template[None].expand(2, -1, -1)
    front = torch.zeros(2, 3)
    back = torch.tensor([[0.0, math.pi, 0.0]] * 2)
    z = torch.zeros(2, 3)
    cf, bf = texel_visibility(layout, verts, test_head.faces, front, z, V, K, 128)
    cb, _ = texel_visibility(layout, verts, test_head.faces, back, z, V, K, 128)
    face = layout.region == REGION_NAMES.index("face")
    assert cf.max() == 2 and set(cf.unique().tolist()) <= {0, 2}           # both frames alike
    assert cf[face].float().mean() > 0.6 and cb[face].float().mean() < 0.1  # the face is seen from the front only
    assert bool(((cf > 0) | (cb > 0)).float().mean() > ((cf > 0).float().mean() + 0.2))
    assert float(bf.max()) <= 1.0 and float(bf[cf == 0].max()) <= 0.3   # in view only at a grazing angle
    s = seen_summary(layout, cf)
    assert 0 < s["total"] < 1 and s["face"] > s["scalp"]
    cover = torch.zeros(2, 128, 128, 1)                                    # nothing filmed: nothing seen
    assert int(texel_visibility(layout, verts, test_head.faces, front, z, V, K, 128, coverage=cover)[0].sum()) == 0


def test_avatar_keeps_texel_visibility_and_info_summarizes_it(created, monkeypatch):
    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.usecases import info

    _, _, out, rep = created
    av = load_avatar(out)
    assert av.texel_seen is not None and av.texel_seen.shape == (av.n_gaussians,)
    assert 0.0 <= av.texel_seen.min() and av.texel_seen.max() <= 1.0 and av.texel_seen.max() > 0
    monkeypatch.setattr(info, "is_ready", lambda name: True)      # the test head needs no setup
    facts = info.summarize_file(out)
    assert facts["uv_seen"]["total"] == rep["coverage"]["uv_seen"]["total"]
    assert 0 <= facts["artifacts"]["see_through"] <= 1 or facts["artifacts"]["see_through"] < 0
