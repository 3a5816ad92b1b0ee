"""Named expression presets over ARKit-style blendshape names (ICT-FaceKit, the test head).

A preset is a list of (name prefix, weight): every expression of the head model whose name starts with
the prefix gets the weight, so ``browInnerUp`` covers ``browInnerUp_L`` and ``browInnerUp_R``. Heads with
unnamed coefficients (FLAME) have no presets: :func:`preset_expression` says so.
"""

from __future__ import annotations

import torch

from dejavu_cli.errors import DejavuError

PRESETS: dict[str, tuple[tuple[str, float], ...]] = {
    "smile": (("mouthSmile", 1.0), ("cheekSquint", 0.4)),
    "surprise": (("browInnerUp", 1.0), ("browOuterUp", 1.0), ("eyeWide", 0.8), ("jawOpen", 0.35)),
    "frown": (("browDown", 1.0), ("mouthFrown", 0.8)),
    "blink": (("eyeBlink", 1.0),),
    "open": (("jawOpen", 0.7),),
}


def preset_expression(names: list[str], preset: str) -> torch.Tensor:
    """Expression coefficients ``[len(names)]`` of ``preset`` for a head whose expressions are ``names``."""
    if preset not in PRESETS:
        raise DejavuError(f"unknown expression preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    out = torch.zeros(len(names))
    for prefix, weight in PRESETS[preset]:
        for i, n in enumerate(names):
            if n.startswith(prefix):
                out[i] = weight
    if not bool(out.any()):
        raise DejavuError(f"the head model has no expression named like {PRESETS[preset][0][0]}* (preset {preset!r})")
    return out
