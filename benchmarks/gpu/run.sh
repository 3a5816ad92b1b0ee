#!/usr/bin/env bash
# Rasterizer parity tests and benchmarks on a CUDA machine with no network (see README.md here).
#
#   DEJAVU_COMMIT=$(git rev-parse HEAD) OUT=/some/dir bash benchmarks/gpu/run.sh
#
# Builds gsplat's CUDA kernels for sm_90 only (H100/H200), from a carried wheel if one is given,
# otherwise by gsplat's own JIT build of the installed package; then runs the cuda-marked tests and the
# rasterizer benchmarks and writes everything to $OUT (results.txt is the summary).
set -uo pipefail

cd "$(dirname "$0")/../.."                      # repository root
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
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

# 1. gsplat with compiled kernels: a carried wheel (GSPLAT_WHEEL or benchmarks/gpu/wheels/*.whl) wins.
WHEEL=${GSPLAT_WHEEL:-$(ls benchmarks/gpu/wheels/gsplat-*.whl 2>/dev/null | head -n1)}
if [ -n "$WHEEL" ]; then
    say "gsplat: installing carried wheel $WHEEL"
    $PY -m pip install --no-index --no-deps --force-reinstall "$WHEEL" >>"$OUT/build.log" 2>&1 \
        || { say "FAIL: pip could not install $WHEEL (see build.log)"; exit 3; }
else
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
    say "gsplat: JIT build of the installed package, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST, nvcc: $(command -v nvcc || echo "${CUDA_HOME:-none}")"
fi
START=$(date +%s)
if ! $PY -c 'from gsplat.cuda._backend import _C; import sys; sys.exit(0 if _C is not None else 1)' >>"$OUT/build.log" 2>&1; then
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
say "done"
