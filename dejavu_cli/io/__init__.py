"""File I/O at the edges: atomic writes, safe NPZ/pickle loading, video, downloads."""
