"""Pseudonyms: stable for one key and scope, different across keys and scopes, never the raw value."""

import duckdb
from hypothesis import given, settings, strategies as st

from catalog import privacy

KEY, OTHER_KEY = b"first-key-0123456789abcdef", b"second-key-0123456789abcdef"
values = st.text(min_size=5, max_size=40).filter(lambda v: "\x00" not in v)


def sql_tokens(key: bytes, salt: str, raw: list[str]) -> list[str]:
    outer_inner = privacy._pads(key)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(raw)))
    return [r[0] for r in con.execute(f"SELECT {privacy.pseudonym_sql('v')} FROM t ORDER BY i",
                                      [outer_inner[1], outer_inner[0], salt]).fetchall()]


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=1, max_size=20, unique=True))
def test_the_sql_pseudonym_is_the_keyed_hmac_and_reveals_nothing(raw):
    tokens = sql_tokens(KEY, "grants", raw)
    assert tokens == [privacy.pseudonym(KEY, "grants", v) for v in raw]
    assert sql_tokens(KEY, "grants", raw) == tokens, "the same key and scope give the same codes"
    assert len(set(tokens)) == len(raw), "different values get different codes"
    for value, token in zip(raw, tokens):
        assert len(token) == privacy.TOKEN_HEX and set(token) <= set("0123456789abcdef")
        assert value not in token and token not in value
    other_key = sql_tokens(OTHER_KEY, "grants", raw)
    other_scope = sql_tokens(KEY, "grants\x1frelease-2", raw)
    assert all(a != b for a, b in zip(tokens, other_key)), "another key gives other codes"
    assert all(a != b for a, b in zip(tokens, other_scope)), "another release scope gives other codes"


def test_an_empty_cell_stays_empty():
    assert sql_tokens(KEY, "grants", [None]) == [None]
