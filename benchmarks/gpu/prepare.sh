#!/usr/bin/env bash
# Fill carry/ (git-ignored) with what one GPU visit needs and cannot download there (see README.md here):
#
#   bash benchmarks/gpu/prepare.sh [VIDEO]       # VIDEO: a clip for the paper-preset run (optional)
#
#   carry/wheels/   gsplat (CUDA sources, built there for sm_90), pytorch-msssim, plyfile, imageio-ffmpeg
#   carry/home/     a DEJAVU_HOME holding the set-up ICT head (dejavu setup ict must have run here)
#   carry/clip/     VIDEO and its tracking file (tracked here on the CPU: mediapipe is not on the device)
#
# Prints the total size: the device takes at most 64 MiB of working tree plus carried paths.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
VIDEO=${1:-}
DEV_PY=${DEVICE_PYTHON_VERSION:-3.12}          # the device image's python3 (KINDS.md: 3.12)
rm -rf carry && mkdir -p carry/wheels carry/home/heads carry/clip

$PY -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 --python-version "$DEV_PY" \
    -d carry/wheels "gsplat==1.5.3" "pytorch-msssim>=1.0" "plyfile>=1.0" "imageio-ffmpeg>=0.5" >/dev/null

HOME_SRC=$($PY -c 'from dejavu_cli.home import home_subdir; print(home_subdir("heads"))')
for f in ict.npz ict.mediapipe.npz; do
    [ -f "$HOME_SRC/$f" ] || { echo "error: $HOME_SRC/$f missing: run 'dejavu setup ict' first" >&2; exit 2; }
    cp "$HOME_SRC/$f" carry/home/heads/
done

if [ -n "$VIDEO" ]; then
    cp "$VIDEO" carry/clip/clip.mp4
    $PY -m dejavu_cli.cli track carry/clip/clip.mp4 -o carry/clip/clip.track.npz --head ict --device cpu
fi
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -n1 | cut -f1)
carried=$(du -sb carry | cut -f1)
echo "carry/: $((carried / 1048576)) MiB; with the working tree $(((carried + tree) / 1048576)) MiB (limit 64 MiB)"
