"""Lazy package re-exports resolve on first use and name what is missing."""

import subprocess
import sys

import pytest

from minyi_nlp.lazy import lazy_exports


def test_resolves_and_refuses():
    getattr_ = lazy_exports("minyi_nlp", {"get_settings": "config"})
    from minyi_nlp.config import get_settings

    assert getattr_("get_settings") is get_settings
    with pytest.raises(AttributeError, match="'minyi_nlp' has no attribute 'nope'"):
        getattr_("nope")


def test_importing_the_packages_loads_no_heavy_library():
    code = ("import sys, minyi_nlp.batch, minyi_nlp.routing, minyi_nlp.transformer; "
            "print(sorted(m for m in ('torch', 'ray', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_dispatcher_loads_without_the_evaluation_libraries():
    """What a batch worker or a serving process imports to suggest routes: no scikit-learn, no pandas (the
    urgency scorer's evaluation helpers import them only when evaluating)."""
    code = ("import sys; from minyi_nlp.dispatch import Dispatcher; "
            "print(sorted(m for m in ('sklearn', 'pandas', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
