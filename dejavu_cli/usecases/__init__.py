"""Use cases: each composes the pipeline stages (track, fit, create, recon, reenact, render, export) into
what one CLI command does. Nothing below this layer imports it; commands/ are thin shells over it."""
