"""`pinguard fix` on crashes no rule names, against real releases on PyPI: the evidence comes from their files."""

import json

import pytest

from tests.conftest import run_pinguard

SITE = "/home/user/envs/demo/lib/python3.7/site-packages"

CLICK_CRASH = """Traceback (most recent call last):
  File "cli.py", line 30, in <module>
    @click.option("--labels", multiple=True, default=0)
  File "%(site)s/click/decorators.py", line 373, in decorator
    _param_memo(f, cls(param_decls, **attrs))
  File "%(site)s/click/core.py", line 2536, in __init__
    super().__init__(param_decls, type=type, multiple=multiple, **attrs)
  File "%(site)s/click/core.py", line 2153, in __init__
    ) from None
ValueError: 'default' must be a list when 'multiple' is true.
""" % {"site": SITE}

MODULE_CRASH = """Traceback (most recent call last):
  File "evaluate.py", line 4, in <module>
    from sklearn.metrics.classification import f1_score
ModuleNotFoundError: No module named 'sklearn.metrics.classification'
"""

TRANSFORMERS_CRASH = """Traceback (most recent call last):
  File "predict.py", line 2, in <module>
    from transformers.modeling_bert import BertModel
ModuleNotFoundError: No module named 'transformers.modeling_bert'
"""


def fix(tmp_path, env, anchor, crash, fmt="json"):
    (tmp_path / "env.txt").write_text(env)
    (tmp_path / "crash.txt").write_text(crash)
    result = run_pinguard("fix", "--env", str(tmp_path / "env.txt"), "--anchor", anchor, "--python", "3.7",
                          "--traceback", str(tmp_path / "crash.txt"), "--gpu", "none", "--format", fmt,
                          env={"PINGUARD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if fmt == "json" else result.stdout


@pytest.mark.network
def test_a_check_that_a_library_added_moves_it_back_to_the_release_without_it(network, tmp_path):
    payload = fix(tmp_path, "click==8.1.7\nnumpy==1.21.6\n", "numpy==1.21.6", CLICK_CRASH)
    assert payload["pins"] == ["click==7.1.2", "numpy==1.21.6"]
    move = payload["evidence"]["moves"][0]
    assert move["dist"] == "click" and move["allowed"] == "<=7.1.2"
    assert "click/core.py has no raise" in move["proofs"][0]["fact"]
    assert move["proofs"][1]["version"] == "8.0.0" and "still raises" in move["proofs"][1]["fact"]


@pytest.mark.network
def test_a_moved_module_comes_back_from_a_release_where_it_is_not_a_deprecation_shim(network, tmp_path):
    text = fix(tmp_path, "numpy==1.19.5\nscikit-learn==0.24.2\nscipy==1.5.4\n", "numpy==1.19.5", MODULE_CRASH,
               fmt="explain")
    assert "scikit-learn 0.24.2 -> 0.21.3  (evidence)" in text
    assert "+ scikit-learn 0.21.3: has sklearn/metrics/classification.py" in text
    assert "- scikit-learn 0.22: sklearn/metrics/classification.py is a deprecation shim" in text


@pytest.mark.network
def test_the_import_check_skips_releases_that_break_on_the_anchor(network, tmp_path):
    """transformers 3.5.x still has modeling_bert but imports SAVE_STATE_WARNING, which torch 1.10 removed."""
    payload = fix(tmp_path, "tokenizers==0.10.1\ntorch==1.10.0\ntransformers==4.3.3\n", "torch==1.10.0",
                  TRANSFORMERS_CRASH)
    assert payload["pins"] == ["tokenizers==0.9.2", "torch==1.10.0", "transformers==3.4.0"]
    rejected = [line for line in payload["considered"] if "rejected" in line]
    assert any("transformers 3.5.1" in line and "SAVE_STATE_WARNING" in line and "torch 1.10.0" in line
               for line in rejected), rejected
