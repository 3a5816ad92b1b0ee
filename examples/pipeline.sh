#!/usr/bin/env bash
# From a video of one person to an avatar, its exports and a reenactment. Usage: pipeline.sh VIDEO [DRIVER]
set -euo pipefail
video="$1"
driver="${2:-$1}"
out="${OUT:-avatar-out}"
mkdir -p "$out"

dejavu setup                                   # which head models are ready (run `dejavu setup ict` once)
dejavu track "$video" -o "$out/video.track.npz" --preview "$out/track-check.mp4"
dejavu info "$out/video.track.npz"             # frames, landmark error, jitter
dejavu create "$video" -o "$out/me.npz" --track "$out/video.track.npz" --preset fast
dejavu info "$out/me.npz" --json
dejavu export "$out/me.npz" --ply "$out/me.ply" --splat "$out/me.splat" --npz "$out/me.maps.npz"
dejavu render "$out/me.npz" --turntable -o "$out/turntable.mp4" --size 512
dejavu reenact "$out/me.npz" "$driver" -o "$out/reenact.mp4" --side-by-side
