"""The browser viewer (``dejavu view``): the avatar as live Gaussian splats in viser, driven by GUI controls
or a tracked video."""
