#!/usr/bin/env bash
# Installs dejavu into the active Python environment: the README's two steps, nothing else.
#   1. torch 2.13.0, only if no torch is installed yet, from the index in DEJAVU_TORCH_INDEX:
#        unset      -> https://download.pytorch.org/whl/cpu (the CPU-only build) where there is no nvidia-smi,
#                      pip's configured sources (PyPI: the CUDA build) where there is one;
#        empty      -> pip's configured sources (e.g. a machine whose pip has a local CPU wheel, like CI);
#        a URL      -> that index (e.g. https://download.pytorch.org/whl/cu126).
#   2. pip install . (with extras: `bash scripts/install.sh test` installs ".[test]"). Every other dependency is
#      declared in pyproject.toml (mediapipe 0.10.21, opencv-contrib-python, jax 0.7.1 ...); the installed torch
#      satisfies torch>=2.1 and is kept.
# Then it prints the torch build it got and warns about a CUDA build on a machine without nvidia-smi.
# Details, offline installs and troubleshooting: docs/install.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
TORCH="torch==2.13.0"
extras="${1:-}"
target="$here"
[ -n "$extras" ] && target="$here[$extras]"

say() { echo "install.sh: $*"; }

say "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if have="$("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null)"; then
    say "step 1/2: torch $have is already installed: keeping it"
else
    if [ -n "${DEJAVU_TORCH_INDEX+set}" ]; then
        index="$DEJAVU_TORCH_INDEX"
    elif command -v nvidia-smi >/dev/null 2>&1; then
        index=""
    else
        index="https://download.pytorch.org/whl/cpu"
    fi
    if [ -n "$index" ]; then
        say "step 1/2: installing $TORCH from $index"
        "$PY" -m pip install "$TORCH" --index-url "$index"
    else
        say "step 1/2: installing $TORCH from pip's configured sources (DEJAVU_TORCH_INDEX empty or nvidia-smi found)"
        "$PY" -m pip install "$TORCH"
    fi
fi

say "step 2/2: pip install $target (all other dependencies; keeps the installed torch)"
"$PY" -m pip install "$target"

build="$("$PY" -c 'import torch; print(torch.__version__, "CUDA " + torch.version.cuda if torch.version.cuda else "CPU-only")')"
say "done: torch $build"
case "$build" in
    *CUDA*)
        if ! command -v nvidia-smi >/dev/null 2>&1; then
            {
                say "WARNING: this torch is a CUDA build but there is no nvidia-smi on this machine: dejavu will run on"
                say "  the CPU, with GBs of unused nvidia-* wheels installed. For the CPU-only build:"
                say "  $PY -m pip uninstall -y torch && $PY -m pip install $TORCH --index-url https://download.pytorch.org/whl/cpu"
            } >&2
        fi
        ;;
esac
