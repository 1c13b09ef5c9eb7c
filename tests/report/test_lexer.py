"""The Pygments lexer for ``.tts`` files."""

from __future__ import annotations

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String, Token

from pytest_tts.report.lexer import TTSLexer

EXAMPLE = """\
# specs/addition.tts
include "common.tts"
model arith = vllm("models/tiny-arith", dtype = "float32")
dataset sums = jsonl("data/addition-test.jsonl", prompt = "Q:{question}\\nA:", answer = "answer") limit 200

verifier exact = exact_match(extract = last_number)
verifier units = last_digit()          # cheap and imperfect

spec "voting pays off on two-digit addition" {
    model   arith
    dataset sums
    sample  n = 64, temperature = 1.0, max_tokens = 24, seed = 0
    oracle  exact
    tags    smoke

    expect accuracy >= 0.55 at flops <= 4e9 using majority_vote
    expect accuracy ≥ 0.50 at n = 8 using best_of_n(verifier = units)
    expect coverage >= 0.95 at tokens <= 2.5k
    expect accuracy using majority_vote is monotone in n
    expect accuracy using beam_search(prm = steps, width = 4) > accuracy using best_of_n(verifier = units) at matched flops
    expect false_positive_rate(units) <= 0.15 with confidence 0.95
    expect no regression of accuracy using majority_vote against baseline within 0.02
    expect accuracy >= 0.3 at flops ≤ 2.5T for model in [arith, other]
}
"""  # noqa: E501


def tokens(text: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in TTSLexer().get_tokens(text) if v.strip()]


def test_example_lexes_without_errors_and_loses_nothing() -> None:
    toks = list(TTSLexer().get_tokens(EXAMPLE))
    assert "".join(v for _, v in toks) == EXAMPLE
    assert [v for t, v in toks if t in Error] == []


@pytest.mark.parametrize("number", ["4e9", "2.5T", "300M", "2.5k", "0.55", "64", "1e-3", "4G"])
def test_numbers_with_exponents_and_si_suffixes_are_one_token(number: str) -> None:
    assert tokens(f"expect accuracy >= 0.5 at flops <= {number}")[-1] == (Number, number)


def test_token_kinds() -> None:
    toks = tokens(EXAMPLE)
    kinds = {v: t for t, v in toks}
    for word in ("spec", "expect", "using", "at", "matched", "monotone", "against", "within"):
        assert kinds[word] in Keyword, word
    assert kinds["include"] in Keyword
    assert kinds['"voting pays off on two-digit addition"'] in String
    assert kinds["accuracy"] is Name.Builtin
    assert kinds["majority_vote"] is Name
    assert kinds["best_of_n"] is Name.Function
    assert kinds["≥"] in Operator
    assert kinds["≤"] in Operator
    assert (Comment.Single, "# cheap and imperfect") in toks
    # a declaration names its variable
    assert toks[toks.index((Keyword.Declaration, "model")) + 1] == (Name.Variable, "arith")


def test_an_unterminated_string_ends_at_the_line_end() -> None:
    toks = list(TTSLexer().get_tokens('spec "open\nmodel arith\n'))
    assert (Keyword, "model") in toks
    assert all(t is not Token.Error for t, _ in toks)


def test_glued_words_are_not_keywords() -> None:
    assert tokens("sampled modelx") == [(Name, "sampled"), (Name, "modelx")]
