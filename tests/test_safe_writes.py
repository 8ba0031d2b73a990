"""Every file pinguard writes: atomic, symlinks kept, only regular files replaced, no temporary file left behind.

Driven through the real command (`pinguard generate -o PATH`) and the writer it uses (pinguard/fsutil.py).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from pinguard import fsutil
from tests.conftest import assert_one_line_error, run_pinguard

ANCHOR = "torch==1.10.0"


def _special(tmp_path, kind):
    path = str(tmp_path / kind)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        server.close()
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("creating a character device needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own, in tmp_path
    return path


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory", "device"])
def test_generate_refuses_to_replace_what_is_not_a_regular_file(tmp_path, kind):
    path = _special(tmp_path, kind)
    before = os.lstat(path)
    result = run_pinguard("generate", ANCHOR, "-o", path)
    assert_one_line_error(result, 2, "not a regular file")
    after = os.lstat(path)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino


def test_generate_refuses_a_symlink_to_a_fifo(tmp_path):
    fifo = _special(tmp_path, "fifo")
    link = str(tmp_path / "link")
    os.symlink(fifo, link)
    assert_one_line_error(run_pinguard("generate", ANCHOR, "-o", link), 2, "a FIFO")
    assert os.path.islink(link) and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_generate_writes_through_a_symlink_and_keeps_it(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "constraints.txt"
    real.write_text("old\n")
    os.chmod(str(real), 0o600)
    link = tmp_path / "constraints.txt"
    os.symlink(str(real), str(link))
    result = run_pinguard("generate", ANCHOR, "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert os.path.islink(str(link)) and os.readlink(str(link)) == str(real)
    assert "\ntorch==1.10.0 " in real.read_text()
    assert stat.S_IMODE(os.stat(str(real)).st_mode) == 0o600  # the replaced file keeps its mode
    assert sorted(os.listdir(str(real_dir))) == ["constraints.txt"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "out.txt"
    os.symlink(str(tmp_path / "target.txt"), str(link))
    fsutil.write_atomic(str(link), "x\n")
    assert os.path.islink(str(link)) and (tmp_path / "target.txt").read_text() == "x\n"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temporary_files_of_killed_writers_are_cleaned_by_the_next_write(tmp_path):
    dead = tmp_path / (".pinguard-%d-abc123.tmp" % _dead_pid())
    old_style = tmp_path / ".pinguard-k2j4x9.tmp"  # from a pinguard that did not name its process
    alive = tmp_path / (".pinguard-%d-def456.tmp" % os.getppid())  # a live writer: kept
    fresh = tmp_path / (".pinguard-%d-ghi789.tmp" % _dead_pid())  # too young to be sure: kept
    other = tmp_path / ".other-123-x.tmp"
    for path in (dead, old_style, alive, fresh, other):
        path.write_text("half a file")
    hour_ago = time.time() - 7200
    for path in (dead, old_style, alive, other):
        os.utime(str(path), (hour_ago, hour_ago))
    result = run_pinguard("generate", ANCHOR, "-o", str(tmp_path / "out.txt"))
    assert result.returncode == 0, result.stderr
    left = sorted(os.listdir(str(tmp_path)))
    assert dead.name not in left and old_style.name not in left
    assert {alive.name, fresh.name, other.name, "out.txt"} <= set(left)


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(TypeError):
        fsutil.write_atomic_bytes(str(target), "text, not bytes")  # fails half-way, after the temporary exists
    assert os.listdir(str(tmp_path)) == []
