"""Choosing the backend: a missing or failing gsplat build falls back to the PyTorch rasterizer on the
same device with one warning per process; `dejavu setup gpu` on a machine without a GPU."""

from __future__ import annotations

import warnings

import pytest
import torch

from dejavu_cli.cli import main
from dejavu_cli.errors import DejavuError
from dejavu_cli.render import api, camera, gsplat_backend
from dejavu_cli.render.api import GsplatFallbackWarning, choose_backend, render

REASON = "gsplat's CUDA kernels could not be built: no CUDA toolkit (nvcc) found (simulated)"


def scene(device="cpu"):
    g = torch.Generator().manual_seed(0)
    means = 0.1 * torch.nn.functional.normalize(torch.randn(1, 200, 3, generator=g), dim=-1)
    quats = torch.randn(1, 200, 4, generator=g)
    scales = torch.full((1, 200, 3), 3e-3)
    opac = torch.full((1, 200), 0.8)
    colors = torch.rand(1, 200, 3, generator=g)
    V = camera.default_viewmat()[None]
    K = camera.intrinsics(camera.focal_from_fov(20.0, 32), 32, 32)[None]
    return [t.to(device) for t in (means, quats, scales, opac, colors, V, K)]


@pytest.fixture
def failing_gsplat(monkeypatch):
    """Pretend the CPU is a GPU whose gsplat build failed (capability check fails with a reason)."""
    monkeypatch.setattr(api, "_accelerated", lambda device: True)
    monkeypatch.setattr(api, "gsplat_status", lambda: (False, REASON))
    monkeypatch.setattr(api, "_warned_fallback", False)


def test_failed_build_falls_back_on_same_device_with_one_warning(failing_gsplat):
    s = scene()
    with pytest.warns(GsplatFallbackWarning) as rec:
        out = render(*s, 32, 32)
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert REASON in msg and "PyTorch rasterizer" in msg and "\n" not in msg
    assert out.rgb.device == s[0].device
    torch.testing.assert_close(out.rgb, render(*s, 32, 32, backend="torch").rgb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # once per process: the second render is silent
        render(*s, 32, 32)


def test_explicit_gsplat_backend_names_the_reason(failing_gsplat):
    with pytest.raises(DejavuError, match="nvcc"):
        render(*scene(), 32, 32, backend="gsplat")


def test_auto_on_cpu_never_touches_gsplat(monkeypatch):
    def boom():
        raise AssertionError("capability check called for CPU tensors")

    monkeypatch.setattr(api, "gsplat_status", boom)
    monkeypatch.delenv("DEJAVU_RENDERER", raising=False)
    assert choose_backend(torch.device("cpu")) == "kernel"          # the compiled CPU rasterizer
    assert choose_backend(torch.device("cpu"), "torch") == "torch"
    with pytest.raises(DejavuError, match="CUDA"):
        choose_backend(torch.device("cpu"), "gsplat")


def test_capability_check_reasons_without_a_gpu():
    # this machine (CI) has no CUDA: the check answers at once, without importing gsplat's kernels
    if torch.cuda.is_available():
        pytest.skip("has a GPU")
    assert gsplat_backend.gsplat_status() == (False, gsplat_backend.NO_GPU)
    assert not gsplat_backend.gsplat_available("cuda")


def test_capability_check_reports_a_failed_build(monkeypatch, capsys):
    import builtins
    import importlib.util

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gsplat_backend, "_kernels_prebuilt", lambda: False)   # a first build
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "gsplat.cuda._backend":
            raise RuntimeError("Error building extension 'gsplat_cuda'\nnvcc fatal: unsupported gpu architecture")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    gsplat_backend.gsplat_status.cache_clear()
    try:
        if importlib.util.find_spec("gsplat") is None:
            pytest.skip("gsplat not installed")
        ok, reason = gsplat_backend.gsplat_status()
    finally:
        gsplat_backend.gsplat_status.cache_clear()
    assert not ok and "failed to build or load" in reason and "unsupported gpu architecture" in reason
    assert "\n" not in reason and "dejavu setup gpu" in reason
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("building gsplat's CUDA kernels (first use only")


def test_setup_gpu_without_a_gpu(capsys):
    if torch.cuda.is_available():
        pytest.skip("has a GPU")
    assert main(["setup", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "no CUDA GPU" in out and "compiled rasterizer kernel" in out


def test_torch_path_keeps_the_input_device_and_dtype():
    s = [t.double() for t in scene()]
    out = render(*s, 32, 32, backend="torch")
    for t in (out.rgb, out.alpha, out.depth):
        assert t.device == s[0].device and t.dtype == torch.float64


def test_render_package_has_no_host_only_calls():
    """The rasterizer runs wherever its inputs are: no .cpu()/.numpy()/.cuda() or hard-coded devices
    (except the compiled CPU kernel's wrapper, CPU-only by definition and chosen only for CPU tensors)."""
    import pathlib
    import re

    root = pathlib.Path(gsplat_backend.__file__).parent
    bad = re.compile(r"\.cpu\(\)|\.numpy\(\)|\.cuda\(\)|device\(\s*[\"']cpu|device=[\"'](cpu|cuda)")
    hits = [f"{p.name}:{i}" for p in sorted(root.glob("*.py")) if p.name != "kernel_raster.py"
            for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert hits == []


def test_projection_and_cameras_run_on_any_device():
    """Projection and camera helpers allocate on their inputs' device (shown with 'meta' tensors)."""
    from dejavu_cli.render.project import project_gaussians

    d = torch.device("meta")
    p = project_gaussians(torch.empty(2, 10, 3, device=d), torch.empty(2, 10, 4, device=d),
                          torch.empty(2, 10, 3, device=d), torch.empty(2, 10, device=d),
                          torch.empty(2, 4, 4, device=d), torch.empty(2, 3, 3, device=d), 64, 64)
    assert {t.device.type for t in (p.means2d, p.conics, p.depths, p.radii, p.visible)} == {"meta"}
    for t in (camera.orbit_viewmats(3, device=d), camera.intrinsics(100.0, 64, 64, device=d),
              camera.default_viewmat(device=d)):
        assert t.device == d
