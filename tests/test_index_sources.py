"""Where packages come from: pip's and uv's configuration (index_config), and a client over several sources at once
(a primary index, extra indexes whose pages are merged, file:// indexes, --find-links directories and pages).

The indexes are a local HTTP server (tests/test_index_client.py's FakeIndex) and PEP 503 trees written here; the
wheels are tiny real wheels built in the test.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from pinguard.errors import BadInput, NetworkError, UnknownPackage
from pinguard.sources import index_config
from pinguard.sources.index import IndexClient
from tests.test_index_client import _no_env, fake, make_sdist, make_wheel  # noqa: F401 - fixtures

CLEAN = {"HOME": "/nonexistent-home", "XDG_CONFIG_DIRS": "/nonexistent-xdg", "PIP_CONFIG_FILE": ""}


def env(**values):
    out = dict(CLEAN)
    out.update(values)
    return {k: v for k, v in out.items() if v != ""}


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as handle:
        handle.write(text)
    return str(path)


# --- configuration --------------------------------------------------------------------------------------------


def test_default_is_pypi(tmp_path):
    config = index_config.resolve(environ=env(), prefix=str(tmp_path))
    assert (config.index_url, config.extra_index_urls, config.find_links) == ("https://pypi.org/simple", (), ())
    assert config.origins["index_url"] == "default: PyPI"


def test_flags_beat_pip_env_beats_pip_conf_beats_uv(tmp_path):
    conf = write(tmp_path / "home" / ".config" / "pip" / "pip.conf",
                 "[global]\nindex-url = https://conf.example/simple\nextra-index-url =\n  https://a.example/simple\n"
                 "  https://b.example/simple\n[install]\nfind-links = /wheels\n")
    base = env(HOME=str(tmp_path / "home"), UV_DEFAULT_INDEX="https://uv.example/simple",
               UV_INDEX="mirror=https://uv-extra.example/simple", UV_FIND_LINKS="/uv1,/uv2")
    config = index_config.resolve(environ=base, prefix=str(tmp_path))
    assert config.index_url == "https://conf.example/simple" and config.origins["index_url"] == conf + " [global]"
    assert config.extra_index_urls == ("https://a.example/simple", "https://b.example/simple")
    assert config.find_links == ("/wheels",) and config.origins["find_links"] == conf + " [install]"
    with_env = index_config.resolve(environ=dict(base, PIP_INDEX_URL="https://env.example/simple/"),
                                    prefix=str(tmp_path))
    assert with_env.index_url == "https://env.example/simple" and with_env.origins["index_url"] == "PIP_INDEX_URL"
    flagged = index_config.resolve("https://flag.example/simple", ["https://x.example/simple"], ["/more"],
                                   environ=dict(base, PIP_INDEX_URL="https://env.example/simple"),
                                   prefix=str(tmp_path))
    assert flagged.index_url == "https://flag.example/simple"
    assert flagged.extra_index_urls[-1] == "https://x.example/simple" and len(flagged.extra_index_urls) == 3
    assert flagged.find_links == ("/wheels", "/more")  # like pip: --find-links adds to the configured ones
    uv_only = index_config.resolve(environ=env(UV_INDEX_URL="https://old-uv.example/simple",
                                               UV_INDEX="mirror=https://uv-extra.example/simple",
                                               UV_FIND_LINKS="/uv1,/uv2"), prefix=str(tmp_path))
    assert uv_only.index_url == "https://old-uv.example/simple" and uv_only.origins["index_url"] == "UV_INDEX_URL"
    assert uv_only.extra_index_urls == ("https://uv-extra.example/simple",)
    assert uv_only.find_links == ("/uv1", "/uv2")


def test_pip_conf_levels_in_pips_order(tmp_path):
    xdg = tmp_path / "xdg"
    write(xdg / "pip" / "pip.conf", "[global]\nindex-url = https://global-xdg.example/simple\n")
    write(tmp_path / "home" / ".pip" / "pip.conf", "[global]\nindex-url = https://user-legacy.example/simple\n")
    site = write(tmp_path / "venv" / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    base = env(HOME=str(tmp_path / "home"), XDG_CONFIG_DIRS=str(xdg))
    assert index_config.resolve(environ=base, prefix=str(tmp_path / "venv")).origins["index_url"] == \
        site + " [global]"
    os.unlink(site)
    assert index_config.resolve(environ=base, prefix=str(tmp_path / "venv")).index_url == \
        "https://user-legacy.example/simple"
    explicit = write(tmp_path / "explicit.conf", "[install]\nindex-url = https://explicit.example/simple\n")
    assert index_config.resolve(environ=dict(base, PIP_CONFIG_FILE=explicit),
                                prefix=str(tmp_path / "venv")).index_url == "https://explicit.example/simple"
    assert index_config.resolve(environ=dict(base, PIP_CONFIG_FILE=os.devnull),
                                prefix=str(tmp_path / "venv")).index_url == "https://pypi.org/simple"
    assert index_config.resolve(environ=dict(base, VIRTUAL_ENV=str(tmp_path / "venv"))).index_url == \
        "https://user-legacy.example/simple"


def test_bad_configuration_is_one_line_bad_input(tmp_path):
    with pytest.raises(BadInput, match="must be an http"):
        index_config.resolve("ftp://example.org/simple", environ=env(), prefix=str(tmp_path))
    broken = write(tmp_path / "venv" / "pip.conf", "[global\nindex-url = x\n")
    with pytest.raises(BadInput, match="cannot read pip's configuration file %s" % broken):
        index_config.resolve(environ=env(), prefix=str(tmp_path / "venv"))
    with pytest.raises(BadInput, match="no index to read"):
        index_config.resolve(environ=env(PIP_NO_INDEX="1"), prefix=str(tmp_path))
    config = index_config.resolve(environ=env(PIP_NO_INDEX="yes", PIP_FIND_LINKS="/w"), prefix=str(tmp_path))
    assert config.indexes == () and config.find_links == ("/w",)


# --- several sources at once ------------------------------------------------------------------------------------


def pep503_tree(root, project, files):
    """A file:// index: root/<project>/index.html linking to root/../files/<name>#sha256=..."""
    files_dir = root.parent / "files"
    files_dir.mkdir(exist_ok=True)
    links = []
    for name, content in files:
        (files_dir / name).write_bytes(content)
        links.append('<a href="../../files/%s#sha256=%s">%s</a>' % (name, hashlib.sha256(content).hexdigest(), name))
    (root / project).mkdir(parents=True, exist_ok=True)
    (root / project / "index.html").write_text("<html><body>%s</body></html>" % "\n".join(links))
    return "file://" + str(root)


def test_a_file_index_is_read_like_pip_reads_it(tmp_path):
    wheel = make_wheel("demo", "1.0", requires=("six>=1",), pad=0)
    sdist = make_sdist("demo", "0.9", requires=("attrs",))
    url = pep503_tree(tmp_path / "simple", "demo", [wheel[:2], sdist[:2]])
    client = IndexClient(url, cache_dir=tmp_path / "cache")
    files = client.project("Demo")
    assert sorted(f.filename for f in files) == sorted([wheel[0], sdist[0]])
    meta = client.metadata([f for f in files if f.is_wheel][0])
    assert meta.requires_dist == ["six>=1"] and meta.source == "local"
    assert client.metadata([f for f in files if not f.is_wheel][0]).requires_dist == ["attrs"]
    assert client.requests_made == 0 and not (tmp_path / "cache").exists()  # nothing cached, nothing fetched
    with pytest.raises(UnknownPackage, match="no package named nope on file://"):
        client.project("nope")


def test_find_links_directory_of_fake_wheels(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        name, content, _ = make_wheel("tiny_pkg", version, requires=("six",), pad=0)
        (wheels / name).write_bytes(content)
    (wheels / "other-1.0-py3-none-any.whl").write_bytes(make_wheel("other", "1.0", pad=0)[1])
    (wheels / "notes.txt").write_text("not a distribution")
    client = IndexClient(no_index=True, find_links=[str(wheels)], cache_dir=tmp_path / "cache")
    files = client.project("tiny-pkg")
    assert sorted(str(f.version) for f in files) == ["1.0", "2.0"]
    for info in files:
        data = open(info.url[len("file://"):], "rb").read()
        assert info.hashes == {"sha256": hashlib.sha256(data).hexdigest()} and info.size == len(data)
        assert client.metadata(info).requires_dist == ["six"]
    with pytest.raises(UnknownPackage, match="find-links"):
        client.project("missing")
    with pytest.raises(BadInput, match="does not exist"):
        IndexClient(no_index=True, find_links=[str(tmp_path / "absent")]).project("tiny-pkg")


def test_extra_indexes_and_find_links_are_merged(fake, tmp_path):
    fake.add("demo", *make_wheel("demo", "1.0", pad=0))
    local = pep503_tree(tmp_path / "simple", "demo", [make_wheel("demo", "1.1", pad=0)[:2]])
    links_dir = tmp_path / "links"
    links_dir.mkdir()
    (links_dir / "demo-1.2.tar.gz").write_bytes(make_sdist("demo", "1.2")[1])
    page = tmp_path / "links.html"
    page.write_text('<a href="%s/files/demo-1.0-py3-none-any.whl">x</a>' % fake.url)
    client = IndexClient(fake.index_url, extra_index_urls=[local], find_links=[str(links_dir), fake.url + "/missing"],
                         cache_dir=tmp_path / "cache", backoff=0, retries=1)
    with pytest.raises(NetworkError, match="HTTP 404"):
        client.project("demo")  # a find-links page that cannot be read is an error, as in pip
    client = IndexClient(fake.index_url, extra_index_urls=[local], find_links=[str(links_dir), str(page)],
                         cache_dir=tmp_path / "cache", backoff=0, retries=1)
    assert sorted(str(v) for v in client.versions("demo")) == ["1.0", "1.1", "1.2"]
    assert len(client.project("demo")) == 4  # the page links PyPI's 1.0 wheel again


def test_an_unreachable_index_beside_one_that_answers_is_a_notice(fake, tmp_path):
    local = pep503_tree(tmp_path / "simple", "demo", [make_wheel("demo", "1.1", pad=0)[:2]])
    fake.fail_next = 100
    client = IndexClient(fake.index_url, extra_index_urls=[local], cache_dir=tmp_path / "cache", backoff=0,
                         retries=2)
    assert [str(v) for v in client.versions("demo")] == ["1.1"]
    assert any("HTTP 503" in n and "using the other package sources" in n for n in client.notices)
    alone = IndexClient(fake.index_url, cache_dir=tmp_path / "cache2", backoff=0, retries=2)
    with pytest.raises(NetworkError):
        alone.project("demo")
