"""The avatar: its file format, maps -> Gaussians, and animation."""
