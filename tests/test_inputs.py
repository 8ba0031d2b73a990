"""What `check` reads (everything pip reads in a requirements file), and input that must never reach exit 3.

Every run is the real command in a subprocess; bad input is one `pinguard: error:` line and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT, assert_one_line_error, hermetic_env, run_pinguard

ANCHOR = ("--anchor", "torch==1.10.0", "--python", "3.7")


def check_json(path, *extra):
    result = run_pinguard("check", str(path), *(ANCHOR + extra + ("--json",)))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


# --- check reads what pip reads ------------------------------------------------------------------------------------


def test_includes_are_followed_relative_to_the_including_file(tmp_path):
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("torch==1.10.0\n-r more/extra.txt\n")
    (tmp_path / "reqs" / "more").mkdir()
    (tmp_path / "reqs" / "more" / "extra.txt").write_text("torchvision==0.3.0  # an old pin\n")
    (tmp_path / "reqs" / "pins.txt").write_text("--constraint constraints.txt\nsetuptools\n")
    (tmp_path / "reqs" / "constraints.txt").write_text("setuptools==60.0.0\n")
    main = tmp_path / "requirements.txt"
    main.write_text("-r reqs/base.txt\n--requirement=reqs/pins.txt\n")
    code, payload = check_json(main)
    rules = {v["rule"] for v in payload["violations"]}
    assert code == 1 and "torch-family-pairing" in rules and "setuptools-distutils-version" in rules, payload
    assert payload["files"] == [str(main), os.path.join(str(tmp_path), "reqs", "base.txt"),
                                os.path.join(str(tmp_path), "reqs", "more", "extra.txt"),
                                os.path.join(str(tmp_path), "reqs", "pins.txt"),
                                os.path.join(str(tmp_path), "reqs", "constraints.txt")]


def test_a_missing_include_is_an_error_not_ok(tmp_path):
    main = tmp_path / "requirements.txt"
    main.write_text("torch==1.10.0\n-r missing.txt\n")
    assert_one_line_error(run_pinguard("check", str(main), *ANCHOR), 2, "missing.txt does not exist")
    main.write_text("torch==1.10.0\n-r https://example.org/req.txt\n")
    assert_one_line_error(run_pinguard("check", str(main), *ANCHOR), 2, "which pinguard does not download")


def test_hashes_bom_and_markers_are_read_like_pip(tmp_path):
    path = tmp_path / "locked.txt"
    path.write_bytes("\ufefftorch==1.10.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n"
                     "torchvision==0.3.0 --hash=sha256:cccc\n"
                     "setuptools==60.0.0 ; python_version < '3.6'\n".encode("utf-8"))
    code, payload = check_json(path)
    assert code == 1
    rules = {v["rule"] for v in payload["violations"]}
    assert "torch-family-pairing" in rules and "setuptools-distutils-version" not in rules  # the marker drops it


def test_url_and_editable_lines_are_reported_as_not_judged(tmp_path):
    path = tmp_path / "freeze.txt"
    path.write_text("torch==1.10.0\ntorchvision==0.11.1\nmylib @ file:///home/me/mylib\n-e git+https://x/y.git#egg=z\n"
                    "numpy\n")
    result = run_pinguard("check", str(path), *ANCHOR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 2 pins")
    assert "note: not judged: 'mylib @ file:///home/me/mylib' (%s:3): installed from a URL" % path in result.stderr
    assert "an editable install" in result.stderr and "'numpy' (%s:5): no exact version" % path in result.stderr
    code, payload = check_json(path)
    assert [u["why"] for u in payload["unjudged"]] == [
        "installed from a URL, not a version", "an editable install", "no exact version (name==version) to check"]


@pytest.mark.parametrize("text", ["foo\n", "", "# only a comment\n", "numpy>=1.19\nscipy\n"])
def test_input_that_is_not_a_pin_list_is_exit_2(tmp_path, text):
    path = tmp_path / "notes.txt"
    path.write_text(text)
    assert_one_line_error(run_pinguard("check", str(path), *ANCHOR), 2, "is not a pin list")


# --- never exit 3 ---------------------------------------------------------------------------------------------------


def test_huge_numbers_are_bad_input_everywhere(tmp_path):
    digits = "1" * 10000
    assert_one_line_error(run_pinguard("generate", "torch==1.%s" % digits), 2, "anchor")
    assert_one_line_error(run_pinguard("generate", "torch==1.10.0", "--python", "3.%s" % digits), 2, "--python")
    assert_one_line_error(run_pinguard("generate", "torch==1.%s" % ("9" * 200)), 2, "200-digit number")
    path = tmp_path / "pins.txt"
    path.write_text("torch==1.10.0\nnumpy==1.%s\n" % digits)
    assert_one_line_error(run_pinguard("check", str(path), *ANCHOR), 2, "requirement at")


@pytest.mark.parametrize("gpu", ["sm_\uff17\uff15", "\u0667.\u0665", "sm_" + "7" * 5000])
def test_gpu_takes_ascii_digits_only(tmp_path, gpu):
    env = tmp_path / "env.txt"
    env.write_text("torch==1.10.0\n")
    result = run_pinguard("fix", "--env", str(env), "--anchor", "torch==1.10.0", "--python", "3.7", "--gpu", gpu)
    assert_one_line_error(result, 2, "--gpu takes sm_XY")


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_not_read_forever(path):
    started = time.monotonic()
    assert_one_line_error(run_pinguard("check", path, *ANCHOR), 2, "a character device, not a file")
    assert time.monotonic() - started < 30


def test_endless_stdin_is_bounded():
    process = subprocess.run([sys.executable, "-m", "pinguard", "check", "-"] + list(ANCHOR),
                             stdin=open("/dev/zero", "rb"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, env=hermetic_env({"PYTHONPATH": ROOT}), timeout=120)
    assert_one_line_error(process, 2, "<stdin> is longer than")


def test_a_fifo_without_a_writer_times_out_and_one_with_a_writer_is_read(tmp_path):
    fifo = str(tmp_path / "pins.fifo")
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run_pinguard("check", fifo, *ANCHOR)
    assert_one_line_error(result, 2, "is a FIFO and nothing wrote to it within 10 s")
    assert time.monotonic() - started < 60

    def writer():
        with open(fifo, "w") as handle:
            handle.write("torch==1.10.0\ntorchvision==0.11.1\n")

    thread = threading.Thread(target=writer)
    thread.start()
    result = run_pinguard("check", fifo, *ANCHOR)
    thread.join(30)
    assert result.returncode == 0 and result.stdout.startswith("ok: 2 pins"), result.stderr


def test_error_lines_do_not_repeat_a_huge_input_line(tmp_path):
    path = tmp_path / "pins.txt"
    path.write_text("torch==1.10.0\n" + "x" * 1000000 + " ! broken\n")
    result = run_pinguard("check", str(path), *ANCHOR)
    assert_one_line_error(result, 2, "requirement at")
    assert len(result.stderr) < 1200, len(result.stderr)
    result = run_pinguard("generate", "torch==1.10.0 " + "y" * 5000 + " !")
    assert_one_line_error(result, 2, "anchor")
    assert len(result.stderr) < 1200, len(result.stderr)
