"""`dejavu view` in a real browser: Debian's chromium, headless, driven by Playwright against the viewer on
127.0.0.1. The canvas must show the head, clicking an expression preset in the page must change the picture,
and the page must log no errors. The screenshot goes to $DEJAVU_VIEW_SCREENSHOT when that is set (the one in
docs/view.md was made so). Skipped, with the reason, only where no browser or Playwright is installed."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def head_pixels(img: np.ndarray) -> np.ndarray:
    """Mask of pixels that differ from the page's background (the colour of the canvas corners)."""
    corners = np.stack([img[5, 5], img[5, -5], img[-5, 5], img[-5, -5]]).astype(np.int32)
    bg = np.median(corners, 0)
    return np.abs(img.astype(np.int32) - bg).sum(-1) > 30


#: three.js logs this for viser 1.1.1's own splat mesh whenever any splats are shown (seen with 50 random,
#: finite splats and nothing else on the page), so it says nothing about ours.
VISER_SPLAT_NOISE = "computeBoundingSphere(): Computed radius is NaN"


def coloured_template(head, uv_size: int, template_avatar, build_layout):
    """The head model's template avatar with colours from the surface position (so the face reads on a
    screenshot) and Gaussians sized to the texel spacing, opaque (as `create` initializes them)."""
    from dejavu_cli.fit.colour import texel_spacing

    layout = build_layout(head, uv_size)
    avatar = template_avatar(head, layout)
    verts = head(head.zeros(1))[0]
    p = layout.surface(verts[None])[0].numpy()
    rgb = 0.5 + 0.5 * (p - p.mean(0)) / np.abs(p - p.mean(0)).max(0)
    avatar.init[:, 3:6] = np.log(0.6 * texel_spacing(layout, verts).numpy())[:, None]
    avatar.init[:, 9] = 4.0
    avatar.init[:, 10:13] = (rgb - 0.5) / 0.28209479177387814                # SH degree 0: rgb = 0.5 + C0 sh
    return avatar


def missing(reason: str):
    """Skip with the reason; in CI (.ci/run installs both) a missing browser is a failure."""
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def test_browser_shows_the_head_and_follows_a_preset_click(ict_head):
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed (pip install '.[test]')")
    if not os.path.exists(CHROMIUM):
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("viser")
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar
    from dejavu_cli.uv.layout import build_layout
    from dejavu_cli.view.server import AvatarViewer

    avatar = coloured_template(ict_head, 128, template_avatar, build_layout)
    viewer = AvatarViewer(Animator(avatar, ict_head, "cpu"), port=free_port())
    worker = threading.Thread(target=viewer.serve_forever, daemon=True)
    worker.start()
    url = f"http://127.0.0.1:{viewer.server.get_port()}"
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 960, "height": 720})
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" and VISER_SPLAT_NOISE not in m.text else None)
            page.goto(url)
            page.locator("canvas").first.wait_for(timeout=60_000)
            canvases = page.locator("canvas")           # the 3D view, not the small axes gizmo
            areas = [(b["width"] * b["height"], i) for i in range(canvases.count())
                     if (b := canvases.nth(i).bounding_box())]
            canvas = canvases.nth(max(areas)[1])

            def shot() -> np.ndarray:
                return cv2.imdecode(np.frombuffer(canvas.screenshot(), np.uint8), cv2.IMREAD_COLOR)

            deadline, img = time.monotonic() + 90, None
            while time.monotonic() < deadline:      # ready: the splats have arrived and been drawn
                img = shot()
                if head_pixels(img).mean() > 0.03:
                    time.sleep(1.0)                  # let the sort settle, then take the reference picture
                    img = shot()
                    break
                time.sleep(0.5)
            mask = head_pixels(img)
            h, w = mask.shape
            assert mask.mean() > 0.03, "the canvas never showed the head"
            # the head: the blob at the centre of the view (the GUI panel and notices overlay the canvas)
            _, labels = cv2.connectedComponents(mask.astype(np.uint8))
            head = labels == labels[h // 2, w // 2]
            assert labels[h // 2, w // 2] > 0 and 0.02 < head.mean() < 0.5, "no head in the middle of the view"
            before = img
            ys, xs = np.nonzero(head)
            box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))   # the head's bounding box

            def changed(a: np.ndarray) -> float:
                """Share of the head box's pixels that changed by more than 10 grey levels."""
                d = np.abs(a[box].astype(np.int32) - before[box].astype(np.int32)).max(-1)
                return float((d > 10).mean())

            updates = viewer.updates
            page.get_by_role("button", name="surprise").click()
            deadline, diff = time.monotonic() + 30, 0.0
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if viewer.updates > updates:
                    time.sleep(1.0)
                    diff = changed(shot())
                    if diff > 0.02:
                        break
            assert viewer.updates > updates, "clicking the preset sent no update"
            assert diff > 0.02, f"only {diff:.1%} of the head's pixels changed"
            out = os.environ.get("DEJAVU_VIEW_SCREENSHOT")
            if out:
                cv2.imwrite(out, shot())
            browser.close()
    finally:
        viewer.stop()
        worker.join(timeout=5)
    assert errors == [], errors
