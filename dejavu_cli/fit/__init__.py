"""Fitting pieces shared by create (video personalization) and recon (network training): losses, targets,
synthetic problems. Imports only the stages below it (head, uv, render, avatar, track)."""
