"""`dejavu view` without a browser: the splat arrays (covariances against the rotation and scales), the GUI
pose convention against `head.pose.yaw_pitch_roll`, driver motion relative to its rest pose, and a running
viewer whose controls change what it sends."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import torch

from dejavu_cli.head.pose import axis_angle_to_matrix, relative_rotvec, rotvec_to_quat, yaw_pitch_roll
from dejavu_cli.view.splats import pose_rotvec, splat_arrays


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_splat_arrays_shapes_and_covariances():
    g = torch.Generator().manual_seed(0)
    N = 5
    quats = torch.randn(N, 4, generator=g)
    scales = torch.rand(N, 3, generator=g) * 0.01 + 0.001
    out = splat_arrays(torch.randn(N, 3, generator=g), quats, scales, torch.rand(N, generator=g),
                       torch.rand(N, 3, generator=g) * 1.5)
    assert out["centers"].shape == (N, 3) and out["covariances"].shape == (N, 3, 3)
    assert out["rgbs"].shape == (N, 3) and out["opacities"].shape == (N, 1)
    assert all(a.dtype == np.float32 for a in out.values())
    assert out["rgbs"].max() <= 1.0
    # eigenvalues of each covariance are the squared scales; a quarter turn about z swaps the x and y axes
    eig = np.sort(np.linalg.eigvalsh(out["covariances"].astype(np.float64)), -1)
    np.testing.assert_allclose(eig, np.sort(scales.numpy().astype(np.float64) ** 2, -1), rtol=1e-4)
    q = rotvec_to_quat(torch.tensor([[0.0, 0.0, math.pi / 2]]))
    c = splat_arrays(torch.zeros(1, 3), q, torch.tensor([[0.01, 0.002, 0.001]]), torch.ones(1),
                     torch.ones(1, 3))["covariances"][0]
    np.testing.assert_allclose(np.diag(c), [0.002 ** 2, 0.01 ** 2, 0.001 ** 2], rtol=1e-4, atol=1e-12)


@pytest.mark.parametrize("ypr", [(30.0, 0.0, 0.0), (0.0, 20.0, 0.0), (0.0, 0.0, -15.0), (40.0, -25.0, 10.0)])
def test_pose_sliders_follow_the_tracking_convention(ypr):
    rv = pose_rotvec(*ypr)
    assert rv.shape == (1, 3)
    np.testing.assert_allclose(yaw_pitch_roll(rv)[0].numpy(), ypr, atol=1e-4)


def test_positive_yaw_turns_the_face_to_its_left():
    R = axis_angle_to_matrix(pose_rotvec(30.0, 0.0, 0.0))[0]
    face = R[:, 2]                                   # +z out of the face; the subject's left is +x
    assert float(face[0]) > 0.4


def test_driver_rotation_relative_to_its_rest_pose():
    rest = torch.tensor([[0.1, -0.3, 0.05]])
    rv = torch.cat([rest, pose_rotvec(20.0, 0.0, 0.0) * 0 + rest])
    rel = relative_rotvec(rv, rest)
    torch.testing.assert_close(rel, torch.zeros(2, 3), atol=1e-6, rtol=0)
    turned = torch.tensor([[0.0, 0.5, 0.0]])
    rel = relative_rotvec(turned, torch.zeros(1, 3))
    torch.testing.assert_close(rel, turned, atol=1e-6, rtol=0)


def test_running_viewer_controls_change_the_splats(test_head):
    pytest.importorskip("viser")
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar
    from dejavu_cli.uv.layout import build_layout
    from dejavu_cli.view.server import AvatarViewer

    avatar = template_avatar(test_head, build_layout(test_head, 32))
    viewer = AvatarViewer(Animator(avatar, test_head, "cpu"), port=free_port())
    try:
        assert viewer.updates == 1 and viewer.server.get_port() > 0
        p0, r0 = viewer.current_params()
        assert float(p0.expression.abs().sum()) == 0 and float(r0.abs().sum()) == 0
        viewer.apply_preset("smile")
        p1, _ = viewer.current_params()
        assert float(p1.expression.abs().sum()) > 0
        viewer.yaw.value = 45.0
        _, r1 = viewer.current_params()
        assert float(yaw_pitch_roll(r1)[0, 0]) == pytest.approx(45.0, abs=1e-3)
        assert viewer.update() > 0 and viewer.updates == 2
        viewer.reset()
        p2, r2 = viewer.current_params()
        assert float(p2.expression.abs().sum()) == 0 and float(r2.abs().sum()) < 1e-6
    finally:
        viewer.stop()


def test_view_command_serves_until_ctrl_c_and_refuses_bad_input(cli, tmp_path, capsys, session_home):
    """`dejavu view` prints the URL, serves the viewer's page, stops cleanly on Ctrl-C (exit 0); a missing
    avatar or driver is one line and exit 1."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    pytest.importorskip("viser")
    avatar = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "32", "-o", avatar) == 0
    assert cli("view", tmp_path / "missing.npz") == 1
    assert cli("view", avatar, "--driver", tmp_path / "nope.mp4") == 1
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "Traceback" not in err and "nope.mp4" in err

    port = free_port()
    env = dict(os.environ, DEJAVU_HOME=str(session_home))
    proc = subprocess.Popen([sys.executable, "-m", "dejavu_cli", "view", str(avatar), "--port", str(port),
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "viewer: http://" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "dejavu view exited early"
        assert f"http://127.0.0.1:{port}" in line
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=30).read().decode()
        assert "<html" in page.lower()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "viewer stopped" in out and "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_viewer_plays_a_driver_track(test_head, tmp_path):
    """`--driver TRACK`: the synthetic clip's tracked motion (known yaw sweep of +-0.3 rad, random expressions)
    drives the viewer: the frame slider changes expression and head turn, and the turn is relative to the
    avatar's rest pose."""
    pytest.importorskip("viser")
    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.fit.synthetic import make_problem
    from dejavu_cli.track.api import save_track
    from dejavu_cli.usecases.config import ViewConfig
    from dejavu_cli.usecases.view_avatar import open_viewer
    from dejavu_cli.uv.layout import build_layout

    track, _, _ = make_problem(test_head, uv_size=24, size=32, n_frames=12, seed=1)
    tfile = tmp_path / "d.track.npz"
    save_track(tfile, track)
    avatar = tmp_path / "a.npz"
    save_avatar(avatar, template_avatar(test_head, build_layout(test_head, 24)))
    viewer = open_viewer(avatar, ViewConfig(driver=str(tfile), port=free_port(), device="cpu"), progress=False)
    try:
        assert len(viewer.driver.motion) == 12 and viewer.use_driver.value
        yaws, exprs = [], []
        for i in range(12):
            viewer.frame.value = i
            p, r = viewer.current_params()
            yaws.append(float(yaw_pitch_roll(r)[0, 0]))
            exprs.append(p.expression.clone())
        assert max(yaws) - min(yaws) > 10.0                 # the sweep turns the head (degrees)
        assert max(abs(y) for y in yaws) < 45.0             # relative to the rest pose, not to the camera
        assert float((exprs[0] - exprs[5]).abs().max()) > 0.01
        viewer.use_driver.value = False                     # back to the sliders: neutral
        p, _ = viewer.current_params()
        assert float(p.expression.abs().sum()) == 0
        assert viewer.update() > 0
    finally:
        viewer.stop()
