#!/usr/bin/env bash
# Rasterizer parity tests and benchmarks on a CUDA machine with no network (see README.md here).
#
#   DEJAVU_COMMIT=$(git rev-parse HEAD) OUT=/some/dir bash benchmarks/gpu/run.sh
#
# Installs the wheels carried in carry/wheels (benchmarks/gpu/prepare.sh), builds gsplat's CUDA kernels for
# sm_90 only (H100/H200), runs the cuda-marked parity tests, then the benchmarks: rasterizer, render
# throughput (animate + splat, single and batched), create step throughput at the paper preset's sizes and,
# when carry/clip/ holds a clip and its tracking, the whole paper preset on it. Everything goes to $OUT
# (results.txt is the summary). Sized for one 10-minute call after the gsplat build.
set -uo pipefail

cd "$(dirname "$0")/../.."                      # repository root
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
[ -d carry/home ] && export DEJAVU_HOME=${DEJAVU_HOME:-$PWD/carry/home}
LOG="$OUT/results.txt"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }

export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}       # sm_90 only: a fifth of the build time
export MAX_JOBS=${MAX_JOBS:-$(nproc)}
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$PWD/build/torch_extensions}   # reusable if carried
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

say "dejavu rasterizer GPU run"
say "date:   $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "commit: ${DEJAVU_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
say "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
say "python: $($PY -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1)"

if ! $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    say "FAIL: torch sees no CUDA device (a CPU-only torch build?)"; exit 2
fi

# 1. carried wheels (no network there): gsplat and the pure-Python dependencies the image lacks
WHEELS=$(ls carry/wheels/*.whl benchmarks/gpu/wheels/*.whl ${GSPLAT_WHEEL:-} 2>/dev/null | tr '\n' ' ')
if [ -n "$WHEELS" ]; then
    say "wheels: installing $WHEELS"
    $PY -m pip install --no-index --no-deps --force-reinstall $WHEELS >>"$OUT/build.log" 2>&1 \
        || { say "FAIL: pip could not install the carried wheels (see build.log)"; exit 3; }
fi
# nvcc from the system, CUDA_HOME, or the nvidia-cuda-nvcc pip package
if ! command -v nvcc >/dev/null && [ -z "${CUDA_HOME:-}" ]; then
    NVCC=$($PY - <<'PY' 2>/dev/null
import glob, os, site
for d in site.getsitepackages():
    for p in glob.glob(os.path.join(d, "nvidia", "cuda_nvcc", "bin", "nvcc")) + glob.glob(os.path.join(d, "nvidia", "cu*", "bin", "nvcc")):
        print(os.path.dirname(os.path.dirname(p))); raise SystemExit
PY
)
    [ -n "$NVCC" ] && export CUDA_HOME=$NVCC PATH=$NVCC/bin:$PATH
fi
say "gsplat: build of the installed package's kernels, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST, nvcc: $(command -v nvcc || echo "${CUDA_HOME:-none}")"
START=$(date +%s)
# `dejavu setup gpu`: our capability check (build, load, a tiny render), and which renderer commands use
if ! $PY -m dejavu_cli setup gpu >>"$OUT/build.log" 2>&1; then
    say "FAIL: gsplat CUDA extension unavailable after $(( $(date +%s) - START )) s (see build.log)"; exit 4
fi
say "gsplat: extension ready in $(( $(date +%s) - START )) s ($($PY -c 'import gsplat; print(gsplat.__version__)'))"

# 2. parity tests (forward and gradients, gsplat vs our torch backend on the same GPU)
$PY -m pytest -m cuda -rA -q tests/test_render_gsplat.py >"$OUT/pytest.log" 2>&1
say "parity tests: exit $? -- $(tail -n1 "$OUT/pytest.log")"

# 3. benchmarks: head-sized scene, 75k Gaussians
bench() { $PY benchmarks/rasterizer.py "$@" 2>&1 | tee -a "$OUT/bench.log" | grep -E "fwd_s|intersections|peak" | tr '\n' ' '; }
for backend in gsplat torch; do
    for args in "--size 256" "--size 512" "--size 512 --batch 16"; do
        say "bench $backend $args: $(bench --backend $backend --device cuda $args)"
    done
done

# 4. render throughput of a 75k-Gaussian ICT avatar (head model + UV gathers + blendmaps + splat) at 512^2
HEAD=test; $PY -c 'from dejavu_cli.head.registry import load_head; load_head("ict")' >/dev/null 2>&1 && HEAD=ict
say "render ($HEAD head):"
$PY benchmarks/render.py --head $HEAD --device cuda --batches 1,8,32 --repeat 5 2>&1 | tee -a "$OUT/render.log" >>"$LOG"

# 5. create: step throughput at the paper preset's sizes (synthetic targets on the same head)
say "create step throughput (paper sizes, $HEAD head, synthetic targets):"
$PY benchmarks/create.py --preset paper --device cuda --head $HEAD --steps-measured 20 2>&1 \
    | tee -a "$OUT/create.log" | grep -vE "it/s|step/s" >>"$LOG"

# 6. the whole paper preset on a carried clip (prepare.sh VIDEO): time, PSNR/SSIM, peak memory
if [ -f carry/clip/clip.mp4 ] && [ -f carry/clip/clip.track.npz ]; then
    say "create --preset paper on the carried clip:"
    $PY benchmarks/create.py --preset paper --device cuda --video carry/clip/clip.mp4 \
        --track carry/clip/clip.track.npz --full 2>&1 | tee -a "$OUT/create.log" | grep -vE "it/s|step/s" >>"$LOG"
    cp /tmp/dejavu-bench-create/avatar.report.json /tmp/dejavu-bench-create/avatar.report.png "$OUT/" 2>/dev/null
fi
say "done"
