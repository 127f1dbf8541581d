"""bench.profile: the summary of a py-spy profile, as read after a benchmark run."""

from bench import profile


def test_a_stack_read_garbled_is_left_out_and_the_rest_counted(tmp_path, capsys):
    # py-spy now and then reads a frame's name with a newline in it: that stack comes out as
    # two lines, the first with no count
    raw = tmp_path / "server-main-connections.txt"
    raw.write_text("run (chatserver/cli.py:1);serve (chatserver/web/app.py:2) 3\n"
                   "run (chatserver/cli.py:1);\u0117 (\n"
                   ":1908772512);format (email/utils.py:171) 1\n"
                   "run (chatserver/cli.py:1) 1\n")
    assert profile.main([str(raw)]) == 0
    out = capsys.readouterr().out
    assert "--- self (5 samples)" in out
    assert "60.0%  serve (chatserver/web/app.py:2)" in out
    assert "20.0%  format (email/utils.py:171)" in out
