"""The start-up suggestion reaches the lazily loaded tables, so that no citizen's request pays for them."""

from __future__ import annotations

from minyi_nlp.text import pii_names, preprocess
from serve.suggest import WARM_UP_TEXT


def test_the_warm_up_text_loads_the_name_finders_word_list():
    pii_names._common_words.cache_clear()
    try:
        assert "<NAME>" in preprocess(WARM_UP_TEXT)
        assert pii_names._common_words.cache_info().currsize == 1
    finally:
        pii_names._common_words.cache_clear()
