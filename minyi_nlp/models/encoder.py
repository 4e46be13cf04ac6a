"""The shared encoder: an appeal's raw text → one sparse feature vector, computed once for every head.

normalise → mask PII (:func:`minyi_nlp.text.preprocess`) → clip very long texts (head + tail) →
three TF-IDF blocks side by side, each L2-normalised:

* ``words``: jieba-rs word 1..``word_ngram_max``-grams (domain dictionary, stop words dropped);
* ``chars``: character ``char_ngram_min..char_ngram_max``-grams of the text without spaces;
* ``head``: the title's words again (the text's head up to ``head_chars``), weighted ``head_weight``.

Vocabularies and IDF are fitted on training texts only. :meth:`Encoder.embed` projects a vector to a
short dense unit vector (a fixed sparse random projection) for similar-appeal search and grouping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.models.arrays import load_array, save_array
from minyi_nlp.models.featurize import CharNgrams, WordNgrams, assemble
from minyi_nlp.params import EncoderParams
from minyi_nlp.text import Segmenter, preprocess

ENCODER_FILE = "encoder.json"


def clip_text(text: str, max_chars: int) -> str:
    """Keep the head and the tail of a very long text (the ask is usually at one of the ends)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    head = (max_chars * 2) // 3
    return text[:head] + " " + text[-(max_chars - head) :]


def prepare_texts(texts: Sequence[Any], max_chars: int = 3000) -> list[str]:
    """Normalise, mask PII and clip each text: what every block reads (and all that may be stored)."""
    return [clip_text(preprocess("" if t is None else str(t)), max_chars) for t in texts]


def mask_pairs(pairs: Sequence[tuple[Any, Any]]) -> list[tuple[str | None, str]]:
    """(title, content) → each normalised and PII-masked (what the service stores; ``None`` title kept)."""
    return [(None if t is None else preprocess(str(t)), preprocess("" if c is None else str(c))) for t, c in pairs]


def join_masked(title: str | None, content: str, max_chars: int = 3000) -> str:
    """The model input of a masked (title, content): title then content, clipped like :func:`prepare_texts`.
    Equals ``prepare_texts([title + " " + content])`` (masking never spans the space between them)."""
    parts = [p for p in (title, content) if p]
    return clip_text(" ".join(parts), max_chars)


_TITLE_END = re.compile(r"[，。！？,.!?：:；;]|尊敬的|您好|你好")
# a salutation before the matter ("尊敬的领导：您好！", "市长您好，") is not the title
_GREETING = re.compile(
    r"^(?:(?:尊敬的)?[^，。！？,.!?：:；;]{0,8}?(?:领导|市长|书记|区长|县长|同志|部门|政府|先生|女士)"
    r"(?:们)?(?:您好|你好|好)?[，。！？,.!?：:；;]+|(?:您好|你好)[，。！？,.!?：:；;]*"
    r"|我(?:想|要)(?:反映|咨询|投诉)(?:一个|一下)?(?:问题|情况)?[，。！？,.!?：:；;]+)+"
)


def head_text(text: str, n: int) -> str:
    """The head of an appeal, where its title is: up to ``n`` characters without spaces after any leading
    salutation, cut at the first punctuation mark or greeting that comes after at least 6 characters (raw
    texts are title + content without a separator; segmented ones have no punctuation left)."""
    text = _GREETING.sub("", text.replace(" ", ""), count=1)
    ends = (m.start() for m in _TITLE_END.finditer(text, 0, n + 1) if m.start() >= 6)
    return text[: min(next(ends, n), n)]


@dataclass(frozen=True)
class Block:
    name: str
    start: int
    stop: int


class Encoder:
    """Fit once on training texts; ``transform`` gives the (n, ``n_features``) float32 CSR every head reads."""

    def __init__(self, params: EncoderParams | None = None) -> None:
        self.params = params or EncoderParams()
        p = self.params
        self.segment = Segmenter(backend=p.segmenter, user_dict=p.user_dict, stopwords=p.stopwords)
        self.words = WordNgrams(p.word_ngram_max, min_df=p.min_df, max_features=p.max_features)
        self.chars = CharNgrams(p.char_ngram_min, p.char_ngram_max, min_df=p.min_df, max_features=p.max_features)
        self.head = WordNgrams(p.word_ngram_max, min_df=p.min_df) if p.head_chars > 0 else None
        self._projection: tuple[np.ndarray, np.ndarray] | None = None
        self._blocks: list[Block] | None = None
        self._codes: dict[str, dict[str, int]] | None = None

    # -- the three inputs of a prepared text ----------------------------------------------------------
    def prepare(self, texts: Sequence[Any]) -> list[str]:
        return prepare_texts(texts, self.params.max_chars)

    def _inputs(self, prepared: Sequence[str]) -> tuple[list, list[str], list | None]:
        seg = self.segment
        words = [seg(t) for t in prepared]
        chars = [t.replace(" ", "") for t in prepared]
        n = self.params.head_chars
        head = [seg(head_text(t, n)) for t in prepared] if self.head is not None else None
        return words, chars, head

    def fit(self, texts: Sequence[Any]) -> Encoder:
        """Fit the vocabularies and IDF on raw training texts."""
        words, chars, head = self._inputs(self.prepare(texts))
        self.words.fit(words)
        self.chars.fit(chars)
        if self.head is not None:
            self.head.fit(head)
        self._projection = None
        self._blocks = None
        self._codes = None
        return self

    def transform(self, texts: Sequence[Any]) -> sp.csr_matrix:
        """Feature vectors of raw texts."""
        return self.transform_prepared(self.prepare(texts))

    def transform_prepared(self, prepared: Sequence[str]) -> sp.csr_matrix:
        """Feature vectors of texts already passed through :meth:`prepare` (tokens are dropped and looked up
        in one pass: the same vectors as the blocks' ``triplets`` of :meth:`_inputs`)."""
        unfiltered = self.segment.unfiltered
        codes = self._token_codes()
        blocks = [self.words.triplets_unfiltered([unfiltered(t) for t in prepared], codes["words"]),
                  self.chars.triplets([t.replace(" ", "") for t in prepared])]
        weights = [1.0, 1.0]
        if self.head is not None:
            n = self.params.head_chars
            blocks.append(self.head.triplets_unfiltered([unfiltered(head_text(t, n)) for t in prepared],
                                                        codes["head"]))
            weights.append(self.params.head_weight)
        return assemble(blocks, weights)

    def _token_codes(self) -> dict[str, dict[str, int]]:
        """Per word block, its token memo (:meth:`WordNgrams.token_codes`), made on first use."""
        if self._codes is None:
            kept = self.segment.kept
            self._codes = {"words": self.words.token_codes(kept)}
            if self.head is not None:
                self._codes["head"] = self.head.token_codes(kept)
        return self._codes

    # -- columns --------------------------------------------------------------------------------------
    @property
    def blocks(self) -> list[Block]:
        if self._blocks is None:
            self._blocks = self._make_blocks()
        return self._blocks

    def _make_blocks(self) -> list[Block]:
        out, start = [], 0
        parts = [("words", self.words), ("chars", self.chars)] + ([("head", self.head)] if self.head else [])
        for name, block in parts:
            out.append(Block(name, start, start + block.n_features))
            start += block.n_features
        return out

    @property
    def n_features(self) -> int:
        return self.blocks[-1].stop

    def feature_name(self, col: int) -> str:
        """``block__term`` of a column (``words__路灯``, ``chars__路灯``, ``head__路灯 不亮``)."""
        for b in self.blocks:
            if b.start <= col < b.stop:
                return f"{b.name}__{getattr(self, b.name).feature_name(col - b.start)}"
        raise IndexError(f"column {col} out of range (n_features={self.n_features})")

    # -- dense projection -----------------------------------------------------------------------------
    def _project_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._projection is None:
            rng = np.random.default_rng(self.params.embed_seed)
            n, d = self.n_features, self.params.embed_dim
            self._projection = (rng.integers(0, d, size=(n, 2), dtype=np.int32),
                                rng.choice(np.array([-1.0, 1.0], np.float32), size=(n, 2)))
        return self._projection

    def embed(self, X: sp.csr_matrix) -> np.ndarray:
        """(n, ``embed_dim``) float32 unit rows: a sparse random projection of ``X`` (each column adds ±1 to
        two fixed coordinates), which keeps cosine similarities up to noise of order ``1/√embed_dim``."""
        target, sign = self._project_arrays()
        n, d = X.shape[0], self.params.embed_dim
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(X.indptr))
        where = (rows[:, None] * d + target[X.indices]).ravel()
        weights = (X.data[:, None] * sign[X.indices]).ravel()
        out = np.bincount(where, weights=weights, minlength=n * d).reshape(n, d).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Write ``encoder.json`` (parameters, token tables) and one ``.npy`` per array; returns the files."""
        directory.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"params": self.params.model_dump(), "blocks": {}}
        files = []
        for name in ("words", "chars", "head"):
            block = getattr(self, name)
            if block is None:
                continue
            info: dict[str, Any] = {}
            if isinstance(block, WordNgrams):
                info = {"tokens": block.token_list(), "n_unigrams": block.n_unigrams_}
            for key, arr in block.state().items():
                files.append(save_array(directory / f"{name}.{key}.npy", arr))
            meta["blocks"][name] = info
        path = directory / ENCODER_FILE
        path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return [path, *files]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> Encoder:
        """Read what :meth:`save` wrote (arrays memory-mapped unless ``mmap`` is false)."""
        meta = json.loads((directory / ENCODER_FILE).read_text(encoding="utf-8"))
        self = cls(EncoderParams.model_validate(meta["params"]))
        def arrays(name: str, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
            return {k: load_array(directory / f"{name}.{k}.npy", mmap) for k in keys}

        p = self.params
        words = meta["blocks"]["words"]
        self.words = WordNgrams.from_state({"max_n": p.word_ngram_max, "min_df": p.min_df,
                                            "max_features": p.max_features},
                                           arrays("words", ("bigram_keys", "idf")), words["tokens"],
                                           words["n_unigrams"])
        self.chars = CharNgrams.from_state({"lo": p.char_ngram_min, "hi": p.char_ngram_max, "min_df": p.min_df,
                                            "max_features": p.max_features}, arrays("chars", ("keys", "idf")))
        if "head" in meta["blocks"]:
            head = meta["blocks"]["head"]
            self.head = WordNgrams.from_state({"max_n": p.word_ngram_max, "min_df": p.min_df},
                                              arrays("head", ("bigram_keys", "idf")), head["tokens"],
                                              head["n_unigrams"])
        else:
            self.head = None
        self._codes = None
        return self
