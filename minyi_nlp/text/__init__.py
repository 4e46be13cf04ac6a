"""Text layer: normalisation, PII masking and word segmentation.

``preprocess`` (normalise, then mask PII) is the single entry point every other module uses
before logging, training or predicting; ``Segmenter``/``tokenize`` split preprocessed text.
"""

from minyi_nlp.text.normalize import normalize_text, to_simplified
from minyi_nlp.text.pii import PII_KINDS, PLACEHOLDERS, PiiMatch, find_pii, mask_pii, preprocess
from minyi_nlp.text.segment import Segmenter, tokenize

__all__ = [
    "PII_KINDS",
    "PLACEHOLDERS",
    "PiiMatch",
    "Segmenter",
    "find_pii",
    "mask_pii",
    "normalize_text",
    "preprocess",
    "to_simplified",
    "tokenize",
]
