"""Building pools from stage types and from sample files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_tts.cli import main
from pytest_tts.errors import EstimationError
from pytest_tts.estimate.io import read_pool
from pytest_tts.estimate.pool import NO_ANSWER, pool_from_samples
from pytest_tts.types import Sample, Verdict


def test_pool_from_samples_groups_orders_and_encodes() -> None:
    samples = [
        Sample("b", 1, "x", 4, 7, logprobs=(-1.0, -3.0)),
        Sample("a", 0, "y", 3, 5, logprobs=(-0.5,)),
        Sample("b", 0, "z", 4, 2, logprobs=(-2.0,)),
        Sample("a", 1, "w", 3, 1, logprobs=(-1.0, -1.0)),
    ]
    oracle = [
        Verdict(True, 1.0, " 7"),
        Verdict(False, 0.0, None),
        Verdict(False, 0.0, "8"),
        Verdict(True, 1.0, "7"),
    ]
    units = [Verdict(True, 0.9), Verdict(False, 0.1), Verdict(True, 0.6), Verdict(False, 0.2)]
    pool = pool_from_samples(samples, oracle, {"units": units}, problem_ids=["a", "b"])
    assert pool.problem_ids == ("a", "b")
    np.testing.assert_array_equal(pool.correct, [[False, True], [False, True]])
    np.testing.assert_array_equal(pool.answers, [[NO_ANSWER, 0], [0, 1]])
    np.testing.assert_array_equal(pool.completion_tokens, [[5, 1], [2, 7]])
    np.testing.assert_array_equal(pool.prompt_tokens, [3, 4])
    np.testing.assert_allclose(pool.scores["units"], [[0.1, 0.2], [0.6, 0.9]])
    assert pool.logprob_mean is not None
    np.testing.assert_allclose(pool.logprob_mean, [[-0.5, -1.0], [-2.0, -2.0]])
    with pytest.raises(ValueError, match="read-only"):
        pool.correct[0, 0] = True


def test_ragged_pools_are_refused_with_a_hint() -> None:
    samples = [Sample("a", 0, "", 1, 1), Sample("a", 1, "", 1, 1), Sample("b", 0, "", 1, 1)]
    verdicts = [Verdict(True, 1.0)] * 3
    with pytest.raises(EstimationError, match=r"'b' has 1 \(pass n= to use the first n"):
        pool_from_samples(samples, verdicts)
    assert pool_from_samples(samples, verdicts, n=1).n_samples == 1


def write_samples(path: Path) -> None:
    rows = []
    for p in range(3):
        for i in range(4):
            rows.append(
                {
                    "problem_id": f"q{p}",
                    "index": i,
                    "completion": "...",
                    "answer": str(i % 2),
                    "correct": i % 2 == 0,
                    "completion_tokens": 10 + i,
                    "prompt_tokens": 5,
                    "scores": {"rm": [0.1, i / 4]},
                    "accepted": {"rm": i > 1},
                }
            )
    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))


def test_per_sample_file(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    write_samples(path)
    pool = read_pool(path)
    assert pool.problem_ids == ("q2", "q1", "q0")
    np.testing.assert_array_equal(pool.completion_tokens[0], [10, 11, 12, 13])
    np.testing.assert_allclose(pool.scores["rm"][0], [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(pool.accepted["rm"][0], [False, False, True, True])


def test_curves_command_tables_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "samples.jsonl"
    write_samples(path)
    assert main(["curves", str(path), "--strategy", "filtered_vote(verifier = rm)"]) == 0
    out = capsys.readouterr().out
    assert "3 problems x 4 samples" in out
    assert "filtered_vote(verifier = rm)" in out
    assert main(["curves", str(path), "--strategy", "majority_vot"]) == 2
    assert "did you mean 'majority_vote'" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "a"}\nnot json\n')
    assert main(["curves", str(bad)]) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
