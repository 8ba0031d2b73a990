"""The traceback reader: frames, chained blocks, worker tracebacks, and the classification of the failure."""

from pinguard.sources.failures import call_qualifier, classify, primary, resolve_relative
from pinguard.sources.tracebacks import parse_crash, site_path_of

SITE = "/opt/envs/demo/lib/python3.7/site-packages"

CHAINED = """Traceback (most recent call last):
  File "%(site)s/pkg/loader.py", line 12, in <module>
    from fastjson import dumps
ModuleNotFoundError: No module named 'fastjson'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "train.py", line 3, in <module>
    import pkg
  File "%(site)s/pkg/__init__.py", line 1, in <module>
    from .loader import load
  File "%(site)s/pkg/loader.py", line 14, in <module>
    from json import dumps, fancy_dumps
ImportError: cannot import name 'fancy_dumps' from 'json' (/usr/lib/python3.7/json/__init__.py)
""" % {"site": SITE}

WORKER = """Traceback (most recent call last):
  File "main.py", line 40, in <module>
    for batch in loader:
  File "%(site)s/torch/utils/data/dataloader.py", line 1183, in _next_data
    return self._process_data(data)
  File "%(site)s/torch/_utils.py", line 425, in reraise
    raise self.exc_type(msg)
RuntimeError: Caught TypeError in DataLoader worker process 0.
Original Traceback (most recent call last):
  File "%(site)s/torch/utils/data/_utils/worker.py", line 287, in _worker_loop
    data = fetcher.fetch(index)
  File "%(site)s/imgaug/augmenters/base.py", line 77, in resize
    return resize_image(img, sizes=size, interp="linear")
TypeError: resize_image() got an unexpected keyword argument 'interp'
""" % {"site": SITE}

CARETS_311 = """Traceback (most recent call last):
  File "/srv/app/run.py", line 9, in <module>
    model = hub.load_checkpoint(url, progress=False, cache_name="m")
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
TypeError: load_checkpoint() got an unexpected keyword argument 'cache_name'
"""


def test_chained_blocks_are_all_read_and_the_last_one_is_primary():
    crash = parse_crash(CHAINED)
    assert len(crash.blocks) == 2
    first, last = crash.blocks
    assert first.exception_type == "ModuleNotFoundError"
    assert [f.module for f in last.frames] == [None, "pkg", "pkg.loader"]
    failures = classify(crash)
    assert [f.kind for f in failures] == ["missing-module", "missing-name"]
    found = primary(failures)
    assert (found.kind, found.name, found.module) == ("missing-name", "fancy_dumps", "json")
    assert found.frame.site_path == "pkg/loader.py" and found.frame.line == 14


def test_a_worker_traceback_rethrown_by_the_dataloader_is_a_block_of_its_own():
    crash = parse_crash(WORKER)
    assert len(crash.blocks) == 2
    found = primary(classify(crash))
    assert found.kind == "call-shape"
    assert (found.callee, found.name, found.detail) == ("resize_image", "interp", "unexpected-keyword")
    assert found.frame.module == "imgaug.augmenters.base"


def test_caret_lines_of_python_311_are_skipped_and_the_receiver_is_read_from_the_line():
    found = primary(classify(parse_crash(CARETS_311)))
    assert found.kind == "call-shape"
    assert found.qualifier == "hub" and found.callee == "load_checkpoint"
    assert not found.frame.installed


def test_python_36_import_errors_take_the_module_from_the_source_line():
    text = ('Traceback (most recent call last):\n  File "%s/sklearn/model_selection/_split.py", line 25, in <module>\n'
            '    from scipy.misc import comb\nImportError: cannot import name \'comb\'\n' % SITE)
    found = primary(classify(parse_crash(text)))
    assert (found.kind, found.name, found.module) == ("missing-name", "comb", "scipy.misc")


def test_relative_imports_resolve_against_the_frame():
    text = ('Traceback (most recent call last):\n  File "%s/pkg/sub/mod.py", line 2, in <module>\n'
            '    from ..util import helper\nImportError: cannot import name \'helper\'\n' % SITE)
    found = primary(classify(parse_crash(text)))
    assert found.module == "pkg.util"
    frame = found.frame
    assert resolve_relative(".", frame) == "pkg.sub"


def test_attribute_failures_name_the_module_or_the_class():
    module = primary(classify(parse_crash("AttributeError: module 'numpy' has no attribute 'float'")))
    assert (module.kind, module.module, module.name, module.owner) == ("missing-name", "numpy", "float", "")
    owner = primary(classify(parse_crash("AttributeError: 'EntryPoints' object has no attribute 'get'")))
    assert (owner.owner, owner.name) == ("EntryPoints", "get")


def test_abi_assertion_and_unknown_kinds():
    assert primary(classify(parse_crash(
        "ImportError: libcudart.so.9.0: cannot open shared object file: No such file or directory"))).kind == "abi"
    assert primary(classify(parse_crash(
        "ValueError: numpy.ndarray size changed, may indicate binary incompatibility"))).kind == "abi"
    assert primary(classify(parse_crash(
        'Traceback (most recent call last):\n  File "run.py", line 1, in <module>\n    assert x > 1\n'
        'AssertionError\n'))).kind == "assertion"
    assert primary(classify(parse_crash("Segmentation fault (core dumped)"))) is None
    assert primary(classify(parse_crash("KeyError: 'weights'"))).kind == "unknown"


def test_site_paths_and_call_qualifiers():
    assert site_path_of("C:\\Python37\\Lib\\site-packages\\PIL\\Image.py") == "PIL/Image.py"
    assert site_path_of("/usr/lib/python3/dist-packages/yaml/__init__.py") == "yaml/__init__.py"
    assert site_path_of("/home/me/project/train.py") is None
    assert call_qualifier("x = torch.hub.load_state_dict_from_url(u, file_name=n)", "load_state_dict_from_url") == \
        "torch.hub"
    assert call_qualifier("mel(sr, n_fft)", "mel") == ""


def test_noise_around_the_traceback_and_huge_texts_are_survived():
    noisy = "epoch 1\n  0%|     | 0/1 [00:00<?, ?it/s]\n" + CARETS_311 + "\n  0%|     | 0/1\n"
    assert primary(classify(parse_crash(noisy))).kind == "call-shape"
    assert parse_crash("x" * 5_000_000).blocks == ()
