"""Avatar exports: standard 3DGS PLY, antimatter15 .splat, UV maps as images (NPZ)."""
