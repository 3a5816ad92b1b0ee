"""Tracking: video -> per-frame landmarks, smooth crop, head-model fit, person masks (docs/tracking.md)."""
