"""Our GLB and SOG in a real engine: the PlayCanvas engine (the `playcanvas` npm package splat-transform brings
into .ci/node) in Debian's chromium, headless (WebGL2 on SwiftShader), loads each file through its own loaders
(the glTF container handler with its KHR_gaussian_splatting extension; the gsplat handler for SOG) from a
local server, and draws it (tests/readers/playcanvas.html). The head must appear upright, with every Gaussian:
GLB as written (glTF's y-up frame), SOG written with ``--convention inria`` and turned 180 degrees about z as
PlayCanvas's own viewer turns every splat scene, and, to show why that option exists, the default y-up SOG
upside down under the same turn. Skipped, with the reason, only where chromium, Playwright or the engine
is missing (a failure in CI)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_view_browser import ARGS, CHROMIUM, coloured_template, head_pixels, missing

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / ".ci/node/node_modules/playcanvas/build/playcanvas.mjs"


def upright(img: np.ndarray, mask: np.ndarray) -> float:
    """Mean green of the head's upper half minus its lower half (the coloured template's green grows with
    height, so > 0 means upright). img BGR [H, W, 3], mask [H, W] bool."""
    ys = np.nonzero(mask)[0]
    mid = (ys.min() + ys.max()) // 2
    top, bottom = mask.copy(), mask.copy()
    top[mid:], bottom[:mid] = False, False
    return float(img[..., 1][top].mean() - img[..., 1][bottom].mean())


def test_playcanvas_draws_our_glb_and_sog_upright(ict_head, tmp_path, cli):
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed (pip install '.[test]')")
    if not os.path.exists(CHROMIUM):
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    if not ENGINE.exists():
        missing(f"no PlayCanvas engine at {ENGINE} (npm install --prefix .ci/node @playcanvas/splat-transform)")
    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.uv.layout import build_layout

    avatar = coloured_template(ict_head, 96, template_avatar, build_layout)
    save_avatar(tmp_path / "t.npz", avatar)
    site = tmp_path / "site"
    site.mkdir()
    assert cli("export", tmp_path / "t.npz", "--glb", site / "a.glb", "--sog", site / "inria.sog",
               "--convention", "inria") == 0
    assert cli("export", tmp_path / "t.npz", "--sog", site / "yup.sog") == 0
    shutil.copy(ROOT / "tests/readers/playcanvas.html", site / "index.html")
    shutil.copy(ENGINE, site / "playcanvas.mjs")
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    seen = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            for name, query in (("glb", "f=a.glb"), ("inria", "f=inria.sog&turn=1"), ("yup", "f=yup.sog&turn=1")):
                page = browser.new_page(viewport={"width": 256, "height": 256})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(f"{base}?{query}")
                page.wait_for_function("window.result !== undefined", timeout=90_000)
                result = page.evaluate("window.result")
                assert "error" not in result, result
                assert errors == [], errors
                img = cv2.imdecode(np.frombuffer(page.locator("canvas").screenshot(), np.uint8), cv2.IMREAD_COLOR)
                mask = head_pixels(img)
                seen[name] = (result["splats"], float(mask.mean()), upright(img, mask))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    n = avatar.n_gaussians
    for name, (splats, share, up) in seen.items():
        assert splats == n, (name, splats, n)
        assert 0.05 < share < 0.8, (name, share)            # a head in view, not an empty or flooded canvas
    assert seen["glb"][2] > 10 and seen["inria"][2] > 10, seen   # upright
    assert seen["yup"][2] < -10, seen                             # the default SOG: upside down in PlayCanvas


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; no request log, no favicon noise (an empty icon)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/favicon"):
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()
