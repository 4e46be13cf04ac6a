"""Helpers shared by the transformer classifier and the e5 feature model (torch imported lazily)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

META_FILE = "minyi_checkpoint.json"
_CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
_CJK_GAP = re.compile(rf"(?<={_CJK}) +(?={_CJK})")


def join_cjk_spaces(text: str) -> str:
    """Drop spaces between two CJK characters (jieba-segmented training rows → running text)."""
    return _CJK_GAP.sub("", text)


def head_tail(ids: Sequence[int], budget: int, head_fraction: float = 0.5, head_tail: bool = True) -> list[int]:
    """At most ``budget`` ids: the head only, or ``head_fraction`` of them from the head and the rest from the tail."""
    ids = list(ids)
    if budget <= 0 or len(ids) <= budget:
        return ids
    if not head_tail:
        return ids[:budget]
    head = max(1, min(budget - 1, round(budget * head_fraction)))
    return ids[:head] + ids[len(ids) - (budget - head) :]


def checkpoint_meta(checkpoint_dir: str | Path) -> dict[str, Any]:
    """minyi's notes next to a checkpoint (``import-e5`` writes the e5 text prefix and pooling)."""
    path = Path(checkpoint_dir) / META_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def special_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Ids put before and after a single sequence (``[CLS] … [SEP]`` / ``<s> … </s>``)."""
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return ([start] if start is not None else []), ([end] if end is not None else [])


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int, *, prefix: str = "",
                 head_fraction: float = 0.5, use_head_tail: bool = True) -> list[list[int]]:
    """Token ids with special tokens, at most ``max_length`` long, long texts cut head + tail."""
    before, after = special_ids(tokenizer)
    budget = max_length - len(before) - len(after)
    enc = tokenizer([prefix + t for t in texts], add_special_tokens=False, truncation=False, verbose=False)
    return [before + head_tail(ids, budget, head_fraction, use_head_tail) + after for ids in enc["input_ids"]]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length (little padding), in length order."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """``input_ids`` and ``attention_mask`` tensors, right-padded."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[row, : len(s)] = 1
    return ids, mask


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Masked mean over tokens."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports (e.g. the unused pooler of an e5 checkpoint)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (unchanged when ``None``)."""
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
