"""The process environment MediaPipe 0.10.21 needs: quiet native logs, denormals kept while its graphs start,
and native stderr lines filtered. Shared by the landmarker, the segmenter and the correspondence search."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import torch

from dejavu_cli.errors import DejavuError

#: MediaPipe's native (absl) warning printed at the first face of every face-mesh graph: harmless (our
#: frames go in whole, the ROI is the model's own), and absl's C++ log level cannot be set from Python.
NOISE = ("landmark_projection_calculator.cc",)


def quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def native_stderr_without(needles=NOISE):
    """Run a block with file descriptor 2 captured, then pass every captured line through to ``sys.stderr``
    except the lines containing one of ``needles`` (native libraries write past Python's ``sys.stderr``)."""
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


class denormals_kept:
    """Context for setting up a MediaPipe graph: temporarily disable torch's flush-denormal mode (XNNPack
    fails to allocate its graph with it on, e.g. under the test suite's ``torch.set_flush_denormal(True)``)
    and silence the C++ log lines MediaPipe prints on stderr while it starts (file descriptor 2)."""

    def __enter__(self):
        self._was_on = float((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item()) == 0.0
        if self._was_on:
            torch.set_flush_denormal(False)
        self._saved_fd = None
        if os.environ.get("DEJAVU_DEBUG") is None:
            try:
                sys.stderr.flush()
                self._saved_fd = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:
                self._saved_fd = None
        return self

    def __exit__(self, *exc):
        if self._saved_fd is not None:
            os.dup2(self._saved_fd, 2)
            os.close(self._saved_fd)
        if self._was_on:

            torch.set_flush_denormal(True)


def import_mediapipe():
    """The ``mediapipe`` module with its legacy ``solutions`` (0.10.21), imported on first use: it starts
    native logging and costs about a second, which commands that do not track should not pay."""
    quiet_mediapipe()
    try:
        import mediapipe as mp  # lazy on purpose, see above
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise DejavuError(f"mediapipe 0.10.21 is needed for tracking ({exc}); reinstall dejavu: pip install .") from None
    if not hasattr(mp, "solutions"):
        raise DejavuError(f"mediapipe {getattr(mp, '__version__', '?')} has no 'solutions': dejavu needs "
                          "mediapipe==0.10.21 (pip install .)")
    return mp
