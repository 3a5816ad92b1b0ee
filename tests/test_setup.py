"""`dejavu setup` without ICT data: listing, error paths, env var."""


from dejavu_cli.cli import main


def test_setup_lists_models(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    assert main(["setup"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["ict", "flame"]      # the test head is hidden from users
    assert "not set up" in lines[0] and "dejavu setup ict" in lines[0]
    assert "flame.is.tue.mpg.de" in lines[1]


def test_setup_ict_bad_archive_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    assert main(["setup", "ict", "--archive", str(tmp_path / "nope.zip")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not found" in err


def test_env_archive_is_used(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    monkeypatch.setenv("DEJAVU_ICT_ARCHIVE", str(tmp_path / "from-env.zip"))
    assert main(["setup", "ict"]) == 1
    assert "from-env.zip" in capsys.readouterr().err


def test_setup_ict_missing_archive_fails_even_when_set_up(ict_head, tmp_path, capsys):
    assert main(["setup", "ict", "--archive", str(tmp_path / "nosuch.zip")]) == 1
    assert "archive not found" in capsys.readouterr().err


def test_unreachable_download_names_the_offline_route(monkeypatch, tmp_path, capsys):
    from dejavu_cli.head import ict

    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    monkeypatch.delenv("DEJAVU_ICT_ARCHIVE", raising=False)
    real = ict.archive_entry

    def offline(name, path=None):
        entry = real(name, path)
        entry.source = "http://127.0.0.1:9/ICT-FaceKit.zip"   # nothing listens on the discard port
        return entry

    monkeypatch.setattr(ict, "archive_entry", offline)
    assert main(["setup", "ict"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--archive" in err and "DEJAVU_ICT_ARCHIVE" in err
