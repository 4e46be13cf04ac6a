"""Similar earlier appeals (并单): a time-sharded ANN index over dense vectors with a same-matter re-rank.

``SimilarIndex.add(ids, vectors, received_at, jurisdiction, route, sparse=…)`` stores appeals;
``SimilarIndex.query(vector, at=…, window_days=30, jurisdiction=…, k=5, sparse=…)`` returns
``Match(id, score, received_at, jurisdiction, route)`` for earlier appeals that report the same matter.
The index does not make vectors: pass the shared encoder's ``embed`` rows (and its sparse rows).
Evaluation on real data: ``python -m minyi_nlp.similar.evaluate --help``.
"""

from minyi_nlp.similar.index import Match, SimilarIndex
from minyi_nlp.similar.settings import SimilarSettings
from minyi_nlp.similar.sketch import sketch_cosine, sketch_rows

__all__ = ["Match", "SimilarIndex", "SimilarSettings", "sketch_cosine", "sketch_rows"]
