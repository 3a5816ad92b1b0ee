"""Per-frame face landmarks: MediaPipe 0.10.21 ``solutions.face_mesh`` (478 points incl. irises, offline).

One subject per video: the largest face when the subject is first seen, then the face whose box overlaps
the previous subject box best (so a second person walking in does not steal the track).

A landmarker is anything with the :class:`Landmarker` protocol: ``n_points`` (the count every
``detect`` returns, which sizes the tracking file's ``landmarks`` array) and ``detect(frame)``. The
correspondences to the head model (``track.correspond``) are derived for MediaPipe's point set.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from dejavu_cli.track.mediapipe_env import denormals_kept, import_mediapipe, native_stderr_without

#: MediaPipe face-mesh points with irises.
N_MEDIAPIPE = 478
#: Frames larger than this (longest side, pixels) are downscaled before detection (speed; ~same accuracy).
DETECT_MAX_SIDE = 1280


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


class Landmarker(Protocol):
    """What the tracking pipeline needs of a landmark detector."""
    #: points per face that :meth:`detect` returns
    n_points: int

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Subject landmarks ``float32 [n_points, 2]`` in frame pixels (x right, y down), or ``None``."""
    def close(self) -> None:
        """Release the detector."""


class MediaPipeLandmarker:
    """Streaming face-mesh detector; call :meth:`detect` on consecutive frames (tracking mode)."""
    n_points = N_MEDIAPIPE

    def __init__(self, max_faces: int = 3, min_confidence: float = 0.5):
        mp = import_mediapipe()
        with denormals_kept():  # set the graph up with denormals kept (XNNPack), see mediapipe_env.denormals_kept
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))
        self._previous_box: np.ndarray | None = None
        self._seen_face = False  # the native warning comes with the graph's first face

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Subject landmarks ``float32 [n_points, 2]`` (478) in frame pixels (x right, y down), or ``None``."""
        h, w = frame.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        img = frame
        if scale < 1.0:
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
