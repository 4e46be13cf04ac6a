"""Build a SentencePiece "precompiled charsmap" from a code-point → replacement table.

``tokenizers.normalizers.Precompiled`` (the normaliser every XLM-R tokenizer uses) reads the
binary format SentencePiece stores in its models: a little-endian u32 with the byte size of a
darts-clone double-array trie, the trie's u32 units, then the NUL-terminated replacement strings.
A key is the UTF-8 of a code point; its value is the byte offset of its replacement.

Unit layout (darts-clone): bits 0–7 label, bit 8 has-leaf, bit 9 offset-extension flag, bits
10–30 offset, bit 31 marks a value unit (whose low 31 bits are the value). A node at position
``p`` with offset ``o`` has its child for byte ``c`` at ``p ^ o ^ c``; its value sits at ``p ^ o``.
"""

from __future__ import annotations

import struct

_MAX_OFFSET = 1 << 21  # offsets below this need no extension bit


def build_precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Serialise ``{code point: replacement}`` (replacement may be empty) for ``Precompiled``."""
    blob = bytearray()
    values: dict[bytes, int] = {}
    for cp in sorted(mapping):
        values[chr(cp).encode("utf-8")] = len(blob)
        blob += mapping[cp].encode("utf-8") + b"\x00"

    # nested-dict trie over UTF-8 bytes; the key None holds a node's value
    trie: dict = {}
    for key, value in values.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units: list[int] = [0]
    used = bytearray(1)
    used[0] = 1

    def grow(n: int) -> None:
        if n > len(units):
            extra = n - len(units)
            units.extend([0] * extra)
            used.extend(b"\x00" * extra)

    free_hint = 1
    bases: set[int] = set()  # two nodes must never share a base, or lookups cross between them
    queue: list[tuple[dict, int]] = [(trie, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        if not slots:
            continue
        while free_hint < len(used) and used[free_hint]:
            free_hint += 1
        base = None
        candidate = free_hint
        first = slots[0]
        while base is None:
            if candidate < len(used) and used[candidate]:
                candidate += 1
                continue
            b = candidate ^ first
            candidate += 1
            if not b or b in bases or (pos ^ b) >= _MAX_OFFSET:
                continue
            grow(max(b ^ s for s in slots) + 1)
            if all((b ^ s) != 0 and not used[b ^ s] for s in slots):
                base = b
        bases.add(base)
        offset = pos ^ base
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        for s in slots:
            used[base ^ s] = 1
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))

    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)
