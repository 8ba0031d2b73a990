"""Real-shaped conda environments for the conda tests and the bench: conda-meta records written as conda 26.7 writes
them (its key order, two-space indent, `files` and `paths_data`; checked against a real conda), site-packages with
INSTALLER files, and duck-typed
stand-ins for conda's MatchSpec and PackageRecord (the hooks also get the real ones where conda is installed)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterable, List, Optional, Sequence

CHANNELS = {
    "pytorch": "https://conda.anaconda.org/pytorch/linux-64",
    "conda-forge": "https://conda.anaconda.org/conda-forge/linux-64",
    "defaults": "https://repo.anaconda.com/pkgs/main/linux-64",
    "nvidia": "https://conda.anaconda.org/nvidia/linux-64",
}

# The EchoFusion-like environment of shared/seeds: Python 3.7, pytorch 1.10.0 for CUDA 11.3 from the pytorch
# channel, conda's numpy 1.19.5. (name, version, build, channel, depends, number of files)
BASE_ENV = [
    ("_libgcc_mutex", "0.1", "conda_forge", "conda-forge", [], 0),
    ("libgcc-ng", "11.2.0", "h1d223b6_16", "conda-forge", ["_libgcc_mutex 0.1 conda_forge"], 40),
    ("libstdcxx-ng", "11.2.0", "he4da1e4_16", "conda-forge", [], 30),
    ("openssl", "1.1.1w", "hd590300_0", "conda-forge", ["libgcc-ng >=12"], 120),
    ("python", "3.7.12", "hb7a2778_100_cpython", "conda-forge", ["libgcc-ng >=9.4.0", "openssl >=1.1.1l,<1.1.2a"],
     2000),
    ("python_abi", "3.7", "2_cp37m", "conda-forge", [], 0),
    ("pip", "21.2.2", "py37h06a4308_0", "defaults", ["python >=3.7,<3.8.0a0", "setuptools", "wheel"], 400),
    ("setuptools", "58.0.4", "py37h06a4308_0", "defaults", ["python >=3.7,<3.8.0a0"], 300),
    ("wheel", "0.37.1", "pyhd3eb1b0_0", "defaults", ["python"], 30),
    ("numpy", "1.19.5", "py37h3e96413_3", "conda-forge",
     ["libblas >=3.8.0,<4.0a0", "libgcc-ng >=9.3.0", "python >=3.7,<3.8.0a0", "python_abi 3.7.* *_cp37m"], 600),
    ("typing_extensions", "3.10.0.2", "pyh06a4308_0", "defaults", ["python >=3.6"], 10),
    ("cudatoolkit", "11.3.1", "h2bc3f7f_2", "defaults", ["__glibc >=2.17,<3.0.a0", "libgcc-ng >=9.3.0"], 80),
    ("pytorch-mutex", "1.0", "cuda", "pytorch", [], 0),
    ("pytorch", "1.10.0", "py3.7_cuda11.3_cudnn8.2.0_0", "pytorch",
     ["blas * mkl", "cudatoolkit >=11.3,<11.4", "libgcc-ng >=9.3.0", "mkl >=2021.4.0,<2022.0a0", "ninja",
      "python >=3.7,<3.8.0a0", "pytorch-mutex 1.0 cuda", "typing_extensions"], 3000),
    ("torchvision", "0.11.1", "py37_cu113", "pytorch",
     ["cudatoolkit >=11.3,<11.4", "numpy >=1.11", "pillow >=5.3.0,!=8.3.*", "python >=3.7,<3.8.0a0",
      "pytorch 1.10.0", "pytorch-mutex 1.0 cuda"], 200),
    ("torchaudio", "0.10.0", "py37_cu113", "pytorch", ["python >=3.7,<3.8.0a0", "pytorch 1.10.0"], 120),
]

PYTORCH_DIST = "pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0"


def record_json(name: str, version: str, build: str, channel: str = "conda-forge", depends: Sequence[str] = (),
                files: int = 10, subdir: str = "linux-64") -> Dict[str, object]:
    """A conda-meta record with the fields, in the order, conda 26 writes them (older condas sorted the keys)."""
    url_channel = CHANNELS.get(channel, channel)
    fn = "%s-%s-%s.tar.bz2" % (name, version, build)
    paths = ["lib/python3.7/site-packages/%s/module_%04d.py" % (name.replace("-", "_"), i) for i in range(files)]
    spec = "%s==%s=%s" % (name, version, build)
    return {
        "name": name,
        "version": version,
        "build": build,
        "build_number": int(build.rsplit("_", 1)[-1]) if build.rsplit("_", 1)[-1].isdigit() else 0,
        "channel": url_channel,
        "subdir": subdir,
        "fn": fn,
        "md5": hashlib.md5(fn.encode()).hexdigest(),
        "url": "%s/%s" % (url_channel, fn),
        "sha256": hashlib.sha256(fn.encode()).hexdigest(),
        "depends": list(depends),
        "constrains": [],
        "license": "BSD-3-Clause",
        "timestamp": 1635000000000,
        "size": 1000 + files,
        "requested_spec": spec,
        "package_tarball_full_path": "/opt/conda/pkgs/" + fn,
        "extracted_package_dir": "/opt/conda/pkgs/%s-%s-%s" % (name, version, build),
        "files": paths,
        "paths_data": {"paths": [{"_path": p, "path_type": "hardlink",
                                  "sha256": hashlib.sha256(p.encode()).hexdigest(), "size_in_bytes": 1024}
                                 for p in paths], "paths_version": 1},
        "link": {"source": "/opt/conda/pkgs/%s-%s-%s" % (name, version, build), "type": 1},
        "requested_specs": [spec],
    }


def write_record(prefix: str, data: Dict[str, object]) -> str:
    meta = os.path.join(prefix, "conda-meta")
    os.makedirs(meta, exist_ok=True)
    path = os.path.join(meta, "%s-%s-%s.json" % (data["name"], data["version"], data["build"]))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    return path


def write_dist(prefix: str, name: str, version: str, installer: Optional[str], python: str = "3.7") -> str:
    site = os.path.join(prefix, "lib", "python%s" % python, "site-packages")
    path = os.path.join(site, "%s-%s.dist-info" % (name.replace("-", "_"), version))
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
    if installer is not None:
        with open(os.path.join(path, "INSTALLER"), "w") as handle:
            handle.write(installer + "\n")
    return path


def make_env(prefix: str, entries: Iterable[tuple] = BASE_ENV, anchors: Sequence[str] = (), python: str = "3.7",
             dists: Iterable[tuple] = (("numpy", "1.19.5", "conda"), ("typing_extensions", "3.10.0.2", "conda"),
                                       ("setuptools", "58.0.4", "conda"), ("pip", "21.2.2", "conda"))) -> str:
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    with open(os.path.join(prefix, "conda-meta", "history"), "w") as handle:
        handle.write("==> 2021-11-01 10:00:00 <==\n# cmd: conda create -n echofusion python=3.7\n")
    for name, version, build, channel, depends, files in entries:
        write_record(prefix, record_json(name, version, build, channel, depends, files))
    for name, version, installer in dists:
        write_dist(prefix, name, version, installer, python)
    if anchors:
        write_anchor(prefix, anchors)
    return prefix


def write_anchor(prefix: str, anchors: Sequence[str], python: str = "") -> str:
    """`<prefix>/pinguard.toml` as `pinguard init` writes it (adapters/install_state.py): the plugin reads `anchors`."""
    path = os.path.join(prefix, "pinguard.toml")
    lines = ["# Written by `pinguard init`; `pinguard init --undo` restores every file listed below, byte for byte.",
             "format = 1", 'pinguard = "0.1.0"', "anchors = [%s]" % ", ".join(json.dumps(a) for a in anchors),
             "python = %s" % json.dumps(python), "hook = false", "projects = []", "dirs = []"]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


class Spec:
    """Duck-typed MatchSpec: conda hands the hooks MatchSpec objects; str() gives the spec string."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class Record:
    """Duck-typed PackageRecord: name, version, build, build_number, channel, subdir."""

    def __init__(self, name: str, version: str, build: str, channel: str = "conda-forge",
                 subdir: str = "linux-64") -> None:
        self.name, self.version, self.build = name, version, build
        self.build_number = int(build.rsplit("_", 1)[-1]) if build.rsplit("_", 1)[-1].isdigit() else 0
        self.channel, self.subdir = channel, subdir

    @classmethod
    def parse(cls, dist: str, channel: str = "conda-forge") -> "Record":
        name, version, build = dist.rsplit("-", 2)
        return cls(name, version, build, channel)


def records(*dists: str) -> List[Record]:
    return [Record.parse(d) for d in dists]
