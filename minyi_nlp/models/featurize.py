"""Fast TF-IDF blocks: character n-grams and word n-grams with exact vocabularies, vectorised in NumPy.

The same numbers as scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm="l2")``
(tested against it on real appeals), at a fraction of its cost: scikit-learn builds a Python string
per n-gram and looks it up in a dict; here a whole batch becomes integer keys in a few array passes.

* A character n-gram (n ≤ 3) is one exact ``uint64`` key: the code points + 1, 21 bits each, first
  character in the high bits. Keys sort like the strings they stand for, so the columns come out in
  scikit-learn's (alphabetical) order.
* A word n-gram (n ≤ 2) is a token id, or ``id1 · T + id2`` for a bigram, over the token table kept at
  fit time. Tokens come from the project's :class:`~minyi_nlp.text.Segmenter`.

Keys are mapped to columns through a hash table (:class:`KeyIndex` in NumPy for small batches, pandas' for
large ones; character unigrams through a table indexed by code point), counted per document with one sort of
``document << bits | column`` integers, and turned into ``1 + log(tf)`` × idf, L2-normalised per row. The
encoder drops and looks up a text's tokens in one pass (:meth:`WordNgrams.triplets_unfiltered`). Learned state
is NumPy arrays and a token list: nothing is pickled, and the arrays can be memory-mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

_BITS = 21  # Unicode code points + 1 fit in 21 bits: three of them fit in one uint64
_MAX_N = 3


# --------------------------------------------------------------------------- shared counting


def _select_vocabulary(keys: np.ndarray, docs: np.ndarray, min_df: int, max_features: int | None) -> tuple:
    """Sorted kept keys and their document frequencies: ``df ≥ min_df``, then the ``max_features`` most
    frequent by total count (ties by key), as scikit-learn's ``_limit_features`` does."""
    if len(keys) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    new_key = np.ones(len(keys), bool)
    new_key[1:] = keys[1:] != keys[:-1]
    new_pair = new_key.copy()
    new_pair[1:] |= docs[1:] != docs[:-1]
    starts = np.flatnonzero(new_key)
    uniq = keys[starts]
    tf = np.diff(np.append(starts, len(keys)))
    df = np.add.reduceat(new_pair.astype(np.int64), starts)
    keep = df >= min_df
    uniq, tf, df = uniq[keep], tf[keep], df[keep]
    if max_features is not None and len(uniq) > max_features:
        top = np.argsort(-tf, kind="stable")[:max_features]
        top.sort()
        uniq, df = uniq[top], df[top]
    return uniq, df


def smooth_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """``ln((1 + n) / (1 + df)) + 1`` (scikit-learn's smooth idf), float32."""
    return (np.log((1.0 + n_docs) / (1.0 + df.astype(np.float64))) + 1.0).astype(np.float32)


@dataclass(frozen=True)
class Triplets:
    """A block's nonzero entries, sorted by row then column: the parts of a CSR matrix before assembly."""

    rows: np.ndarray  # int64
    cols: np.ndarray  # int32
    data: np.ndarray  # float32
    n_rows: int
    n_cols: int

    def csr(self) -> sp.csr_matrix:
        return assemble([self])


def _pair_bits(n_cols: int) -> int:
    """Bits of a column in an occurrence ``document << bits | column`` (one int64, sorting by document then column;
    a column < 0 makes it negative)."""
    return max(n_cols - 1, 1).bit_length()


def tfidf_triplets(docs: np.ndarray, cols: np.ndarray, n_docs: int, idf: np.ndarray) -> Triplets:
    """``(1 + ln tf) · idf`` from an occurrence list (document, column), rows L2-normalised; occurrences
    with ``cols < 0`` (not in the vocabulary) are skipped."""
    bits = _pair_bits(len(idf))
    pair = docs.astype(np.int64) << bits
    pair |= cols
    return _tfidf_of_pairs(pair, bits, n_docs, idf)


def _tfidf_of_pairs(pair: np.ndarray, bits: int, n_docs: int, idf: np.ndarray) -> Triplets:
    """:func:`tfidf_triplets` of occurrences ``document << bits | column`` (negative: skipped), sorted here in place."""
    pair.sort()
    pair = pair[np.searchsorted(pair, 0) :]  # the skipped ones sort first
    if len(pair):
        first = np.empty(len(pair), bool)
        first[0] = True
        np.not_equal(pair[1:], pair[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        tf = np.empty(len(starts), np.int64)
        np.subtract(starts[1:], starts[:-1], out=tf[:-1])
        tf[-1] = len(pair) - starts[-1]
        counts = tf.astype(np.float32)
        pair = pair[starts]
    else:
        counts = np.zeros(0, np.float32)
    rows, col = pair >> bits, (pair & ((1 << bits) - 1)).astype(np.int32)
    data = np.log(counts)
    data += np.float32(1.0)
    data *= idf[col]
    norms = np.sqrt(np.bincount(rows, weights=np.square(data, dtype=np.float64), minlength=n_docs))
    data /= np.where(norms > 0, norms, 1.0).astype(np.float32)[rows]
    return Triplets(rows, col, data, n_docs, len(idf))


def assemble(blocks: Sequence[Triplets], weights: Sequence[float] | None = None) -> sp.csr_matrix:
    """One CSR matrix of the blocks side by side (block ``b``'s columns shifted past the blocks before it,
    its values times ``weights[b]``), built in one pass."""
    n = blocks[0].n_rows
    counts = [np.bincount(b.rows, minlength=n) for b in blocks]
    per_row = np.sum(counts, axis=0) if len(counts) > 1 else counts[0]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(per_row, out=indptr[1:])
    nnz = int(indptr[-1])
    cols = np.empty(nnz, np.int32)
    data = np.empty(nnz, np.float32)
    placed = indptr[:-1].copy()  # per row: where the next block's entries go
    offset = 0
    for i, (b, c) in enumerate(zip(blocks, counts, strict=True)):
        first = np.zeros(n, np.int64)  # per row: the block's index of its first entry
        np.cumsum(c[:-1], out=first[1:])
        pos = (placed - first)[b.rows]
        pos += np.arange(len(b.rows))
        placed += c
        cols[pos] = b.cols + offset
        data[pos] = b.data if weights is None or weights[i] == 1.0 else b.data * np.float32(weights[i])
        offset += b.n_cols
    return sp.csr_matrix((data, cols, indptr), shape=(n, offset))


def tfidf_matrix(docs: np.ndarray, cols: np.ndarray, n_docs: int, idf: np.ndarray) -> sp.csr_matrix:
    """CSR of :func:`tfidf_triplets`."""
    return tfidf_triplets(docs, cols, n_docs, idf).csr()


_EMPTY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)  # no key is this large (character keys < 2^63, bigram keys < T^2)
_GOLDEN = np.uint64(0x9E37_79B9_7F4A_7C15)  # Fibonacci hashing: the high bits of key × φ·2^64


class KeyIndex:
    """key → position in a sorted unique ``uint64`` array: an open-addressing hash table (linear probing, load
    ≤ 0.25) built and probed with whole-array NumPy operations, so a batch of keys is looked up in a few
    passes and nothing heavier than NumPy is imported."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, np.uint64)
        self.keys = keys  # sorted: the few keys left after probing are found by binary search
        self.bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        self.mask = np.uint64((1 << self.bits) - 1)
        self.slots = np.full(1 << self.bits, _EMPTY, np.uint64)
        self.values = np.full(1 << self.bits, -1, np.int32)
        pending = np.arange(len(keys), dtype=np.int64)
        slot = self._hash(keys)
        self.max_probe = 0
        while len(pending):
            free = self.slots[slot[pending]] == _EMPTY
            cand = pending[free]
            taken, first = np.unique(slot[cand], return_index=True)  # one key per free slot this round
            self.slots[taken] = keys[cand[first]]
            self.values[taken] = cand[first].astype(np.int32)
            placed = np.zeros(len(keys), bool)
            placed[cand[first]] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + np.uint64(1)) & self.mask
            self.max_probe += 1

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (keys * _GOLDEN) >> np.uint64(64 - self.bits)

    def lookup(self, query: np.ndarray, rounds: int = 3) -> np.ndarray:
        """Positions of ``query`` keys in the indexed array, −1 where absent: ``rounds`` probing passes
        settle almost every key; the few left (long probe chains) are found by binary search."""
        query = np.asarray(query, np.uint64)
        out = np.full(len(query), -1, np.int64)
        active = np.arange(len(query), dtype=np.int64)
        slot = self._hash(query)
        for _ in range(rounds):
            found = self.slots[slot]
            hit = found == query[active]
            out[active[hit]] = self.values[slot[hit]]
            go_on = ~hit & (found != _EMPTY)
            active, slot = active[go_on], (slot[go_on] + np.uint64(1)) & self.mask
            if not len(active):
                return out
        rest = query[active]
        pos = np.searchsorted(self.keys, rest)
        pos[pos == len(self.keys)] = 0
        out[active] = np.where(self.keys[pos] == rest, pos, -1) if len(self.keys) else -1
        return out


class _KeyIndex:
    """Look-ups in a sorted unique ``uint64`` array, built on first use: a :class:`KeyIndex` for small
    queries (what the service sends: it keeps pandas, 64 MB, out of a serving process), pandas' C hash
    table for large ones (a batch job, which has pandas loaded anyway: about 30 µs per text faster at
    400 texts). Both give the same positions (tested)."""

    LARGE = 50_000  # keys in one query (about 40 appeals)

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self._small: KeyIndex | None = None
        self._large: Any = None

    def lookup(self, query: np.ndarray) -> np.ndarray:
        if len(query) >= self.LARGE:
            if self._large is None:
                import pandas as pd

                self._large = pd.Index(np.asarray(self.keys), dtype="uint64")
            return self._large.get_indexer(np.asarray(query, np.uint64))
        if self._small is None:
            self._small = KeyIndex(self.keys)
        return self._small.lookup(query)


# --------------------------------------------------------------------------- characters


def char_ngram_keys(docs: Sequence[str], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """``(document index, key)`` of every character n-gram, ``lo ≤ n ≤ hi ≤ 3`` (the n-grams scikit-learn's
    ``analyzer="char"`` yields for text without whitespace runs), grouped by n."""
    if not 1 <= lo <= hi <= _MAX_N:
        raise ValueError(f"character n-grams need 1 <= lo <= hi <= {_MAX_N}, got ({lo}, {hi})")
    lens = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    cp = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
    left = np.repeat(np.cumsum(lens), lens) - np.arange(len(cp))  # characters from here to the doc's end
    parts_d, parts_k = [], []
    key = cp << np.uint64(2 * _BITS)
    for n in range(1, hi + 1):
        if n > 1:
            key = key[:-1] | (cp[n - 1 :] << np.uint64((_MAX_N - n) * _BITS))
        if n >= lo:
            valid = left[: len(key)] >= n
            parts_d.append(doc[: len(key)][valid])
            parts_k.append(key[valid])
    d = np.concatenate(parts_d) if parts_d else np.zeros(0, np.int64)
    k = np.concatenate(parts_k) if parts_k else np.zeros(0, np.uint64)
    return d, k


def _char_key_lengths(keys: np.ndarray) -> np.ndarray:
    """The n of each character key."""
    mask = np.uint64((1 << _BITS) - 1)
    return 1 + ((keys >> np.uint64(_BITS)) & mask > 0) + (keys & mask > 0)


class _CharIndex:
    """Character key → position in the sorted vocabulary, per n: unigrams through a table indexed by code point,
    bi- and trigrams through a :class:`_KeyIndex` over the keys of that n (a small table probes faster)."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, np.uint64)
        n = _char_key_lengths(keys)
        uni = np.flatnonzero(n == 1)
        code = (keys[uni] >> np.uint64(2 * _BITS)).astype(np.int64)  # code point + 1
        self.unigrams = np.full(int(code.max()) + 2 if len(code) else 1, -1, np.int32)  # last: −1 for the rest
        self.unigrams[code] = uni
        # positions of each n's keys, then −1: what a local −1 (absent) reads
        self.longer = {m: (np.append(np.flatnonzero(n == m), -1).astype(np.int32), _KeyIndex(keys[n == m]))
                       for m in range(2, _MAX_N + 1)}

    def lookup(self, n: int, query: np.ndarray) -> np.ndarray:
        """Positions of ``query``, keys of n-grams of length ``n``, −1 where absent."""
        if n == 1:
            code = np.minimum(query >> np.uint64(2 * _BITS), np.uint64(len(self.unigrams) - 1))
            return self.unigrams[code]
        positions, index = self.longer[n]
        return positions[index.lookup(query)]


def char_key_to_str(key: int) -> str:
    """The n-gram a character key stands for."""
    out = []
    for shift in (2 * _BITS, _BITS, 0):
        c = (int(key) >> shift) & ((1 << _BITS) - 1)
        if c:
            out.append(chr(c - 1))
    return "".join(out)


class CharNgrams:
    """TF-IDF of character ``lo..hi``-grams (``hi ≤ 3``) over texts without spaces."""

    def __init__(self, lo: int = 1, hi: int = 3, *, min_df: int = 1, max_features: int | None = None) -> None:
        self.lo, self.hi, self.min_df, self.max_features = lo, hi, min_df, max_features
        self._index_: _CharIndex | None = None

    def fit(self, docs: Sequence[str]) -> CharNgrams:
        d, k = char_ngram_keys(docs, self.lo, self.hi)
        self.keys_, df = _select_vocabulary(k, d, self.min_df, self.max_features)
        self.idf_ = smooth_idf(df, len(docs))
        self._index_ = None
        return self

    @property
    def n_features(self) -> int:
        return len(self.keys_)

    @property
    def _index(self) -> _CharIndex:
        if self._index_ is None:
            self._index_ = _CharIndex(self.keys_)
        return self._index_

    def triplets(self, docs: Sequence[str]) -> Triplets:
        bits = _pair_bits(len(self.idf_))
        return _tfidf_of_pairs(self._occurrences(docs, bits), bits, len(docs), self.idf_)

    def _occurrences(self, docs: Sequence[str], bits: int) -> np.ndarray:
        """Every character n-gram of ``docs`` as ``document << bits | column`` (−1: not in the vocabulary).
        The documents are read as one array with a 0 after each: an n-gram across a document's end has a 0 where
        a character should be, which no key of that n has, so it is looked up and skipped as an unknown one."""
        lens = np.fromiter(map(len, docs), np.int64, len(docs)) + 1
        total = int(lens.sum())
        cp = np.zeros(total + _MAX_N - 1, np.uint64)
        if total:
            cp[:total] = np.frombuffer(("\0".join(docs) + "\0").encode("utf-32-le"), np.uint32)
            cp[:total] += np.uint64(1)  # code point + 1: a character is never 0
            cp[np.cumsum(lens) - 1] = 0
        base = np.repeat(np.arange(len(docs), dtype=np.int64) << bits, lens)
        pairs = np.empty((self.hi - self.lo + 1) * total, np.int64)
        index = self._index
        key = cp[:total] << np.uint64(2 * _BITS)
        for n in range(1, self.hi + 1):
            if n > 1:
                key = key | (cp[n - 1 : n - 1 + total] << np.uint64((_MAX_N - n) * _BITS))
            if n >= self.lo:
                at = (n - self.lo) * total
                np.bitwise_or(base, index.lookup(n, key), out=pairs[at : at + total])
        return pairs

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self.triplets(docs).csr()

    def feature_name(self, col: int) -> str:
        return char_key_to_str(int(self.keys_[col]))

    def state(self) -> dict[str, Any]:
        return {"keys": self.keys_, "idf": self.idf_}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> CharNgrams:
        self = cls(**params)
        self.keys_, self.idf_ = arrays["keys"], arrays["idf"]
        self._index_ = None
        return self


# --------------------------------------------------------------------------- words


_DROPPED = -2
_CODES_MAX = 1_000_000


class _TokenCodes(dict):
    """token → id in ``table``, −1 for a kept token not in it, −2 for a token ``kept`` drops: worked out on
    first sight, remembered up to ``_CODES_MAX`` tokens."""

    def __init__(self, table: dict[str, int], kept: Callable[[str], bool]) -> None:
        super().__init__()
        self._table, self._kept = table, kept

    def __missing__(self, token: str) -> int:
        code = self._table.get(token, -1) if self._kept(token) else _DROPPED
        if len(self) < _CODES_MAX:
            self[token] = code
        return code


class WordNgrams:
    """TF-IDF of word uni- (and bi-) grams over token lists (bigrams are adjacent tokens, as scikit-learn's
    ``ngram_range=(1, 2)`` makes them after the tokenizer has dropped stop words and punctuation)."""

    def __init__(self, max_n: int = 2, *, min_df: int = 1, max_features: int | None = None) -> None:
        if max_n not in (1, 2):
            raise ValueError(f"word n-grams: max_n must be 1 or 2, got {max_n}")
        self.max_n, self.min_df, self.max_features = max_n, min_df, max_features

    @staticmethod
    def _ids(token_lists: Sequence[Sequence[str]], table: dict[str, int], grow: bool) -> tuple:
        """Token ids document by document (``-1``: not in the table), and each id's document."""
        ids: list[int] = []
        lens = np.empty(len(token_lists), np.int64)
        get = table.get
        for i, tokens in enumerate(token_lists):
            if grow:
                for t in tokens:
                    if t not in table:
                        table[t] = len(table)
            ids.extend([get(t, -1) for t in tokens])
            lens[i] = len(tokens)
        docs = np.repeat(np.arange(len(token_lists), dtype=np.int64), lens)
        return np.asarray(ids, dtype=np.int64), docs, lens

    def _occurrences(self, ids: np.ndarray, docs: np.ndarray, n_tokens: int) -> tuple:
        """(document, kind, key) of every n-gram: kind 0 = unigram key id, 1 = bigram key id1·T + id2."""
        uni_d, uni_k = docs, ids
        if self.max_n == 1 or len(ids) < 2:
            return uni_d, uni_k, np.zeros(0, np.int64), np.zeros(0, np.int64)
        same = (docs[1:] == docs[:-1]) & (ids[1:] >= 0) & (ids[:-1] >= 0)
        bi_d = docs[:-1][same]
        bi_k = ids[:-1][same] * n_tokens + ids[1:][same]
        return uni_d, uni_k, bi_d, bi_k

    def fit(self, token_lists: Sequence[Sequence[str]]) -> WordNgrams:
        table: dict[str, int] = {}
        ids, docs, _ = self._ids(token_lists, table, grow=True)
        names = list(table)
        t = len(names)
        uni_d, uni_k, bi_d, bi_k = self._occurrences(ids, docs, t)
        # one vocabulary over both kinds (as scikit-learn's max_features): bigram keys offset past unigrams
        keys = np.concatenate([uni_k, bi_k + t]).astype(np.uint64)
        kept, df = _select_vocabulary(keys, np.concatenate([uni_d, bi_d]), self.min_df, self.max_features)
        kept = kept.astype(np.int64)
        uni, uni_df = kept[kept < t], df[kept < t]
        bi, bi_df = kept[kept >= t] - t, df[kept >= t]
        # token table: kept unigrams (alphabetical: their columns) + tokens needed only by kept bigrams
        order = sorted(range(len(uni)), key=lambda i: names[uni[i]])
        uni, uni_df = uni[order], uni_df[order]
        tokens = [names[i] for i in uni]
        pos = {int(old): new for new, old in enumerate(uni)}
        for old in np.unique(np.concatenate([bi // t, bi % t])) if len(bi) else []:
            if int(old) not in pos:
                pos[int(old)] = len(tokens)
                tokens.append(names[old])
        self._set_tokens(tokens, len(uni))
        new_t = len(tokens)
        remap = np.vectorize(pos.__getitem__, otypes=[np.int64]) if len(bi) else None
        bi_keys = (remap(bi // t) * new_t + remap(bi % t)).astype(np.uint64) if len(bi) else np.zeros(0, np.uint64)
        order = np.argsort(bi_keys)
        self.bigram_keys_ = bi_keys[order]
        self.idf_ = smooth_idf(np.concatenate([uni_df, bi_df[order]]), len(token_lists))
        self._index = _KeyIndex(self.bigram_keys_)
        return self

    def _set_tokens(self, tokens: list[str], n_unigrams: int) -> None:
        self.tokens_ = tokens
        self.n_unigrams_ = n_unigrams
        self._table = {t: i for i, t in enumerate(tokens)}

    @property
    def n_features(self) -> int:
        return self.n_unigrams_ + len(self.bigram_keys_)

    def transform(self, token_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        return self.triplets(token_lists).csr()

    def token_codes(self, kept: Callable[[str], bool]) -> dict[str, int]:
        """A memo for :meth:`triplets_unfiltered`: token → its id, −1 if kept but not in the table, −2 if
        ``kept`` drops it (filled as tokens are met, up to a million of them)."""
        return _TokenCodes(self._table, kept)

    def triplets_unfiltered(self, token_lists: Sequence[Sequence[str]], codes: dict[str, int]) -> Triplets:
        """:meth:`triplets` of token lists before filtering: ``codes`` (:meth:`token_codes`) drops and looks up
        every token in one pass. The same as :meth:`triplets` of the kept tokens."""
        lens = np.fromiter(map(len, token_lists), np.int64, len(token_lists))
        ids = np.fromiter(map(codes.__getitem__, chain.from_iterable(token_lists)), np.int64, int(lens.sum()))
        docs = np.repeat(np.arange(len(token_lists), dtype=np.int64), lens)
        keep = ids != _DROPPED
        return self._triplets(ids[keep], docs[keep], len(token_lists))

    def triplets(self, token_lists: Sequence[Sequence[str]]) -> Triplets:
        ids, docs, _ = self._ids(token_lists, self._table, grow=False)
        return self._triplets(ids, docs, len(token_lists))

    def _triplets(self, ids: np.ndarray, docs: np.ndarray, n_docs: int) -> Triplets:
        t, u = len(self.tokens_), self.n_unigrams_
        uni_d, uni_k, bi_d, bi_k = self._occurrences(ids, docs, t)
        uni_col = np.where((uni_k >= 0) & (uni_k < u), uni_k, -1)
        bi_pos = self._index.lookup(bi_k.astype(np.uint64))
        bi_col = np.where(bi_pos >= 0, bi_pos + u, -1)
        return tfidf_triplets(np.concatenate([uni_d, bi_d]), np.concatenate([uni_col, bi_col]), n_docs, self.idf_)

    def feature_name(self, col: int) -> str:
        if col < self.n_unigrams_:
            return self.tokens_[col]
        a, b = divmod(int(self.bigram_keys_[col - self.n_unigrams_]), len(self.tokens_))
        return f"{self.tokens_[a]} {self.tokens_[b]}"

    def state(self) -> dict[str, Any]:
        return {"bigram_keys": self.bigram_keys_, "idf": self.idf_}

    def token_list(self) -> list[str]:
        return list(self.tokens_)

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray], tokens: list[str],
                   n_unigrams: int) -> WordNgrams:
        self = cls(**params)
        self._set_tokens(tokens, n_unigrams)
        self.bigram_keys_, self.idf_ = arrays["bigram_keys"], arrays["idf"]
        self._index = _KeyIndex(self.bigram_keys_)
        return self
