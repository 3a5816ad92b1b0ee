"""One training step of the reconstruction network: predict offsets, render targets, losses, update.

Rendering goes through the shared stages: ``avatar.gaussians.maps_to_gaussians`` (maps -> Gaussians on the
posed mesh) and ``render.api.render``; losses reuse ``fit.losses`` (L1, SSIM, eq. 5-6).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dejavu_cli.avatar.gaussians import maps_to_gaussians
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit.losses import l1_loss, position_reg, scale_reg, ssim_loss, view_consistency
from dejavu_cli.fit.targets import scale_intrinsics
from dejavu_cli.head.base import HeadParams
from dejavu_cli.head.registry import default_uv_size
from dejavu_cli.recon.checkpoint import check_layout, read_checkpoint, save_checkpoint
from dejavu_cli.recon.data import sample_multiview
from dejavu_cli.recon.infer import offsets_to_texels, uv_position_maps
from dejavu_cli.recon.network import ReconNet, ReconNetConfig, images_to_input
from dejavu_cli.render.api import render
from dejavu_cli.uv.layout import build_layout
from dejavu_cli.uv.maps import init_maps


@dataclass
class Context:
    ds: object            # ReconDataset
    head: object          # HeadModel (device)
    layout: object        # UVLayout (device)
    u_init: torch.Tensor  # [N, 13]
    pos_weight: torch.Tensor  # [N]
    net: torch.nn.Module
    device: torch.device


def build_context(ds, cfg, device) -> Context:
    head = ds.head_model().to(device)
    layout = build_layout(head, cfg.uv_size or default_uv_size(head.name)).to(device)
    w = cfg.width
    net = ReconNet(ReconNetConfig(img_size=cfg.img_size, uv_size=layout.uv_size,
                                  channels=(w, w, 2 * w, 4 * w, 8 * w))).to(device)
    return Context(ds=ds, head=head, layout=layout, u_init=init_maps(layout).float().to(device),
                   pos_weight=layout.pos_weight.float().to(device), net=net, device=device)


def _verts(ctx: Context, idx) -> torch.Tensor:
    p = lambda k: ctx.ds.params(idx, k).to(ctx.device)  # noqa: E731
    h = ctx.head
    return h(HeadParams(identity=p("identity"), expression=p("expression"), jaw=p("jaw") if h.has_jaw else None,
                        eyes=p("eyes") if h.has_eyes else None))


def _render(ctx: Context, maps: torch.Tensor, idx, resolution: int) -> torch.Tensor:
    """Render texel maps [B, N, 13] with the meshes and cameras of views ``idx`` -> [B, R, R, 3]."""
    with torch.no_grad():
        verts = _verts(ctx, idx)
    p = lambda k: ctx.ds.params(idx, k).to(ctx.device)  # noqa: E731
    g = maps_to_gaussians(ctx.layout, maps, verts, p("rotvec"), p("transl"))
    K = scale_intrinsics(p("K"), ctx.ds.crop_size(idx), resolution)
    out = render(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], p("viewmat"), K,
                 resolution, resolution, background=torch.ones(3, device=ctx.device))
    return out.rgb


def _to_res(img: torch.Tensor, res: int) -> torch.Tensor:
    """uint8 [B, S, S, 3] -> float [B, R, R, 3] in [0, 1] (area resampling)."""
    x = img.permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != res:
        x = F.interpolate(x, size=(res, res), mode="area" if x.shape[-1] > res else "bilinear",
                          **({} if x.shape[-1] > res else {"align_corners": False}))
    return x.permute(0, 2, 3, 1).contiguous()


def sub_step(model, ctx: Context, opt, inputs, targets, groups, lr: float, res: int, cfg) -> dict:
    """One optimizer update on a batch; groups is None for single-view data (no view term)."""
    for g in opt.param_groups:
        g["lr"] = lr
    crops, _ = ctx.ds.images(inputs)
    _, tgt = ctx.ds.images(targets)
    with torch.no_grad():
        uv = uv_position_maps(ctx.layout, _verts(ctx, inputs))
    x = images_to_input(crops.to(ctx.device), ctx.net.cfg.img_size)
    delta = offsets_to_texels(ctx.layout, model(x, uv))                      # [B, N, 13]
    rgb = _render(ctx, ctx.u_init[None] + delta, targets, res)
    target = _to_res(tgt.to(ctx.device), res)
    terms = {"rgb": l1_loss(rgb, target), "ssim": ssim_loss(rgb, target),
             "pos": position_reg(delta, ctx.pos_weight), "scale": scale_reg(delta)}
    total = cfg.w_rgb * terms["rgb"] + cfg.w_ssim * terms["ssim"] + cfg.w_pos * terms["pos"] \
        + cfg.w_scale * terms["scale"]
    if groups is not None:
        terms["view"] = view_consistency(delta, torch.as_tensor(groups, device=ctx.device))
        total = total + cfg.w_view * terms["view"]
    opt.zero_grad(set_to_none=True)
    total.backward()
    if all(torch.isfinite(p.grad).all() for p in ctx.net.parameters() if p.grad is not None):
        opt.step()  # a non-finite gradient skips the update (as the official personalisation code)
    terms["total"] = total
    return {k: float(v.detach()) for k, v in terms.items()}


def train_step(model, ctx: Context, opt, sch: dict, cfg, gen: torch.Generator) -> dict:
    ds, out = ctx.ds, {}
    if ds.groups:
        inputs, targets, groups = sample_multiview(ds.groups, cfg.batch, cfg.views, gen)
        out = sub_step(model, ctx, opt, inputs, targets, groups, sch["lr"], sch["resolution"], cfg)
    if ds.single and (sch["use_real"] or not ds.groups):
        pick = torch.randint(len(ds.single), (cfg.batch,), generator=gen).tolist()
        idx = [ds.single[i] for i in pick]
        lr = sch["lr_real"] if ds.groups else sch["lr"]
        real = sub_step(model, ctx, opt, idx, idx, None, lr, sch["resolution"], cfg)
        out = out or dict(real)
        out["real"] = real["total"]
    return out


def save(output, ctx: Context, opt, step: int, cfg) -> None:
    save_checkpoint(output, ctx.net, head=ctx.head.name, layout_id=ctx.layout.check, step=step,
                    optimizer=opt.state_dict(), train_config=dataclasses.asdict(cfg),
                    lpips="skipped (unavailable)")


def resume_state(output, ctx: Context, cfg) -> tuple[int, dict | None]:
    """(start step, checkpoint dict) from ``output`` if it exists; the network weights are loaded."""
    if not os.path.exists(output):
        return 0, None
    state = read_checkpoint(output)
    check_layout(str(state.get("head")), int(state.get("uv_size", -1)), str(state.get("layout")), ctx.layout,
                 f"checkpoint {output}")
    if ReconNetConfig.from_dict(state["config"]) != ctx.net.cfg:
        raise DejavuError(f"--resume: {output} has another network shape ({state['config']}); "
                          f"use the same --width/--img-size")
    ctx.net.load_state_dict(state["model"])
    return int(state.get("step", 0)), state
