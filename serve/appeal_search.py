"""Full-text search over the masked appeal text, with Chinese segmented into words.

Chinese has no spaces, so both databases get words, not raw text: the masked title and content are cut
by the project's segmenter (:func:`minyi_nlp.text.tokenize`: jieba with the domain dictionary, stop
words and punctuation dropped) and every word of three or more characters is also indexed as its
character bigrams, so that a query for part of a word (``洋湖`` in ``洋湖街道``) still finds it.

* SQLite: an FTS5 table ``appeal_search(words)`` (rowid = ``appeals.seq``) with the ``unicode61``
  tokenizer, which splits on the spaces between the words.
* PostgreSQL: ``appeal_search(seq, tsv)`` with ``tsv = array_to_tsvector(words)`` and a GIN index;
  queries are built as ``tsquery`` literals, so neither side depends on the server's text-search
  parser or locale.

A query is segmented the same way; every query word must match, a word of three or more characters
either whole or as all of its bigrams.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Integer, TextualSelect, column, text

from minyi_nlp.text import PLACEHOLDERS, tokenize

MAX_QUERY_WORDS = 16


def _bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)]


def _words(masked: str) -> list[str]:
    """Segmented words of masked text, without placeholders (``<PHONE>`` …), lower-cased."""
    return [w.lower() for w in tokenize(masked) if w.upper() not in PLACEHOLDERS and w.strip()]


def index_words(masked_texts: Iterable[str | None]) -> list[str]:
    """The distinct words (and bigrams of long words) to index for one appeal, in first-seen order."""
    out: dict[str, None] = {}
    for masked in masked_texts:
        for word in _words(masked or ""):
            out[word] = None
            if len(word) >= 3:
                out.update(dict.fromkeys(_bigrams(word)))
    return list(out)


def query_terms(q: str) -> list[list[list[str]]]:
    """``q`` as an AND of alternatives, each alternative an AND of words: [[[w], [b1, b2, …]], …]."""
    from minyi_nlp.text import preprocess

    terms: list[list[list[str]]] = []
    for word in list(dict.fromkeys(_words(preprocess(q))))[:MAX_QUERY_WORDS]:
        terms.append([[word], _bigrams(word)] if len(word) >= 3 else [[word]])
    return terms


def _fts5(terms: list[list[list[str]]]) -> str:
    def quote(w: str) -> str:
        return '"' + w.replace('"', '""') + '"'

    def group(words: list[str]) -> str:
        return quote(words[0]) if len(words) == 1 else "(" + " AND ".join(map(quote, words)) + ")"

    return " AND ".join("(" + " OR ".join(group(a) for a in alts) + ")" for alts in terms)


def _tsquery(terms: list[list[list[str]]]) -> str:
    def quote(w: str) -> str:
        return "'" + w.replace("\\", "\\\\").replace("'", "''") + "'"

    def group(words: list[str]) -> str:
        return quote(words[0]) if len(words) == 1 else "(" + " & ".join(map(quote, words)) + ")"

    return " & ".join("(" + " | ".join(group(a) for a in alts) + ")" for alts in terms)


def add(conn: Connection, seq: int, words: list[str]) -> None:
    """Index one appeal (in the caller's transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("INSERT INTO appeal_search (seq, tsv) VALUES (:seq, array_to_tsvector(CAST(:w AS text[])))"),
                     {"seq": seq, "w": words})
    else:
        conn.execute(text("INSERT INTO appeal_search (rowid, words) VALUES (:seq, :w)"),
                     {"seq": seq, "w": " ".join(words)})


def match_expression(dialect: str, q: str) -> str | None:
    """``q`` as an FTS5 MATCH string (SQLite) or a ``tsquery`` literal (PostgreSQL); None without a word."""
    terms = query_terms(q)
    if not terms:
        return None
    return _tsquery(terms) if dialect == "postgresql" else _fts5(terms)


def matching_seqs(dialect: str, *, before: bool) -> TextualSelect:
    """The newest ``:lim`` ``appeals.seq`` values matching ``:search_q`` (and below ``:before`` when
    ``before``), as a subquery with unbound parameters (its text is fixed, so statements using it can be
    kept and reused)."""
    if dialect == "postgresql":
        where = "tsv @@ CAST(:search_q AS tsquery)" + (" AND seq < :before" if before else "")
        return text(f"SELECT seq FROM appeal_search WHERE {where} ORDER BY seq DESC LIMIT :lim").columns(
            column("seq", Integer))
    where = "appeal_search MATCH :search_q" + (" AND rowid < :before" if before else "")
    return text(f"SELECT rowid FROM appeal_search WHERE {where} ORDER BY rowid DESC LIMIT :lim").columns(
        column("rowid", Integer))
