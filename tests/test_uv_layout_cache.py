import numpy as np
import torch

from dejavu_cli.uv import layout as layout_mod


def test_layout_is_cached_on_disk_and_identical(test_head, session_home):
    layout_mod._build_cached.cache_clear()
    first = layout_mod.build_layout(test_head, 32)
    files = sorted((session_home / "layouts").glob("test-32-*.npz"))
    assert len(files) == 1
    layout_mod._build_cached.cache_clear()
    second = layout_mod.build_layout(test_head, 32)  # now read from disk
    assert first.check == second.check
    assert torch.equal(first.texel, second.texel)


def test_corrupt_cache_is_rebuilt(test_head, session_home):
    layout_mod._build_cached.cache_clear()
    ref = layout_mod.build_layout(test_head, 24)
    (path,) = (session_home / "layouts").glob("test-24-*.npz")
    path.write_bytes(b"garbage")
    layout_mod._build_cached.cache_clear()
    again = layout_mod.build_layout(test_head, 24)
    assert again.check == ref.check
    with np.load(path, allow_pickle=False) as data:  # rewritten as a valid file
        assert "texel" in data.files
