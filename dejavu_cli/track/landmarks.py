"""Per-frame face landmarks: MediaPipe 0.10.21 ``solutions.face_mesh`` (478 points incl. irises, offline).

One subject per video: the largest face when the subject is first seen, then the face whose box overlaps
the previous subject box best (so a second person walking in does not steal the track). face-alignment
is an optional second source used only when its weights are already cached (it never downloads here).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from dejavu_cli.errors import DejavuError

#: MediaPipe face-mesh points with irises.
N_MEDIAPIPE = 478
#: Frames larger than this (longest side, pixels) are downscaled before detection (speed; ~same accuracy).
DETECT_MAX_SIDE = 1280


#: MediaPipe's native (absl) warning printed at the first face of every face-mesh graph: harmless (our
#: frames go in whole, the ROI is the model's own), and absl's C++ log level cannot be set from Python.
NOISE = ("landmark_projection_calculator.cc",)


def _quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def native_stderr_without(needles=NOISE):
    """Run a block with file descriptor 2 captured, then pass every captured line through to ``sys.stderr``
    except the lines containing one of ``needles`` (native libraries write past Python's ``sys.stderr``)."""
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(n in ln for n in needles)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def box_of(points: np.ndarray) -> np.ndarray:
    """Axis-aligned box ``[4]`` (x0, y0, x1, y1) of points ``[N, 2]``."""
    return np.concatenate([points.min(0), points.max(0)])


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = lambda r: max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])  # noqa: E731
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def choose_subject(faces: list[np.ndarray], previous_box: np.ndarray | None, min_iou: float = 0.2) -> int | None:
    """Index of the subject among ``faces`` (each ``[N, 2]``): best overlap with ``previous_box``, else
    (subject newly seen or lost) the largest face. ``None`` if there is no face."""
    if not faces:
        return None
    boxes = [box_of(f) for f in faces]
    if previous_box is not None:
        ious = [box_iou(b, previous_box) for b in boxes]
        best = int(np.argmax(ious))
        if ious[best] >= min_iou:
            return best
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    return int(np.argmax(areas))


class MediaPipeLandmarker:
    """Streaming face-mesh detector; call :meth:`detect` on consecutive frames (tracking mode)."""

    def __init__(self, max_faces: int = 3, min_confidence: float = 0.5):
        _quiet_mediapipe()
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise DejavuError(f"mediapipe 0.10.21 is needed for tracking: {exc}") from None
        if not hasattr(mp, "solutions"):
            raise DejavuError("this mediapipe has no 'solutions' (install mediapipe==0.10.21 --no-deps)")
        from dejavu_cli.track.segment import denormals_kept

        with denormals_kept():  # set the graph up with denormals kept (XNNPack), see segment.denormals_kept
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))
        self._previous_box: np.ndarray | None = None
        self._seen_face = False  # the native warning comes with the graph's first face

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Subject landmarks ``float32 [478, 2]`` in frame pixels (x right, y down), or ``None``."""
        h, w = frame.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        img = frame
        if scale < 1.0:
            import cv2

            img = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        if self._seen_face:
            result = self._mesh.process(np.ascontiguousarray(img))
        else:
            with native_stderr_without():
                result = self._mesh.process(np.ascontiguousarray(img))
            self._seen_face = bool(result.multi_face_landmarks)
        faces = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h) for p in face.landmark], dtype=np.float32)
            if pts.shape[0] == N_MEDIAPIPE:
                faces.append(pts)
        k = choose_subject(faces, self._previous_box)
        if k is None:
            return None
        self._previous_box = box_of(faces[k])
        return faces[k]

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: Weights face-alignment would download on first use (2D FAN + S3FD detector).
FACE_ALIGNMENT_WEIGHTS = ("2DFAN4-11f355bf06.pth.tar", "s3fd-619a316812.pth")


def face_alignment_status() -> str | None:
    """``None`` when face-alignment can run offline, else a one-line reason it is not available."""
    try:
        import face_alignment  # noqa: F401
    except ImportError:
        return "face-alignment is not installed (pip install face-alignment; optional)"
    hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    missing = [n for n in FACE_ALIGNMENT_WEIGHTS if not (hub / n).exists()]
    if missing:
        return f"face-alignment weights are not cached in {hub} (missing {', '.join(missing)}); it is never downloaded"
    return None


class FaceAlignmentLandmarker:  # pragma: no cover - needs cached third-party weights
    """Optional 68-point FAN landmarks (only when face-alignment and its weights are already present)."""

    def __init__(self, device: str = "cpu"):
        reason = face_alignment_status()
        if reason is not None:
            raise DejavuError(reason)
        import face_alignment

        kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or face_alignment.LandmarksType._2D
        self._fa = face_alignment.FaceAlignment(kind, device=device, face_detector="sfd")

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Largest face's 68 landmarks ``float32 [68, 2]`` in frame pixels, or ``None``."""
        preds = self._fa.get_landmarks_from_image(frame) or []
        faces = [np.asarray(p, dtype=np.float32)[:, :2] for p in preds]
        k = choose_subject(faces, None)
        return None if k is None else faces[k]
