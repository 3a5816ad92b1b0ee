#!/usr/bin/env bash
# Installs dejavu and its test dependencies into the active Python environment.
# CPU torch is pinned (2.13.0) so pip never resolves a multi-GB CUDA build; mediapipe 0.10.21 is the last
# release that ships offline face models (solutions.face_mesh) and needs numpy<2; it is installed with
# --no-deps so only one OpenCV distribution (headless 4.11) is present. See docs/install.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
"$PY" -m pip install -q -c "$here/constraints.txt" -e "$here[test]"
"$PY" -m pip install -q --no-deps "mediapipe==0.10.21"
