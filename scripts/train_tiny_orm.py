"""Train the bundled outcome reward model (models/tiny-orm) for the arithmetic task.

    python scripts/train_tiny_orm.py                    # writes models/tiny-orm/

An outcome reward model reads a question and a complete answer and says how likely the
answer is right. This one is a ``LlamaForSequenceClassification`` with one output (a logit;
vLLM's pooling runner applies the sigmoid), initialized from the policy
``models/tiny-arith`` (the usual recipe: the policy already reads the task) and trained with
binary cross-entropy on the policy's own sampled completions, labelled by whether the answer
is the right sum (:func:`arith_verifier_data.policy_rows`). The policy's wrong answers are
internally consistent traces, so telling them apart needs some arithmetic: the small model
and short training leave it useful but imperfect, which is what a verifier under test should
be. Everything is seeded and the number of steps is fixed, so a re-run with the same torch
build and thread count reproduces the weights.

Best-of-N needs the reward to rank answers *to the same question*. Trained on the policy's
samples alone, a classifier learns which questions are hard (those with carries) rather than
which answers are wrong, and then prefers, within a question, the answer that dropped its
carry. So every training question also gets its reference solution (right) and the
solution with every carry dropped (wrong, when it differs): within a question, only the
arithmetic tells the label.

The last tenth of the training questions is held out (policy samples only); the script
reports the reward model's AUC, its false- and true-positive rates at the 0.5 threshold, and
the accuracy of the best-scored of each question's samples against one sample, on them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from arith_verifier_data import POLICY, Row, policy_rows  # noqa: E402
from train_tiny_model import noisy_trace  # noqa: E402

from pytest_tts.tasks.arith import ArithProblem, parse_question  # noqa: E402

PAD = 0
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def encode(tokenizer: Any, rows: list[Row]) -> tuple[Any, Any, Any]:
    """Right-padded ids and attention masks of prompt + completion, and float labels."""
    import torch

    encoded = [tokenizer(row.prompt + row.completion)["input_ids"] for row in rows]
    width = max(len(e) for e in encoded)
    ids = torch.tensor([e + [PAD] * (width - len(e)) for e in encoded])
    labels = torch.tensor([float(row.correct) for row in rows])
    return ids, (ids != PAD).long(), labels


def scores(model: Any, tokenizer: Any, rows: list[Row], batch: int = 512) -> list[float]:
    import torch

    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            ids, mask, _ = encode(tokenizer, rows[start : start + batch])
            logits = model(input_ids=ids, attention_mask=mask).logits[:, 0]
            out.extend(torch.sigmoid(logits).tolist())
    model.train()
    return out


def contrast(questions: list[str], rng: random.Random) -> list[Row]:
    """Each question's reference solution (right) and, when it has a carry, the same
    solution with every carry dropped (wrong)."""
    rows = []
    for question in questions:
        problem = ArithProblem(*parse_question(question))
        rows.append(Row(question, problem.solution, True))
        dropped = noisy_trace(problem, rng, slip=0.0, forget=1.0, believe=0.0)
        if dropped != problem.solution:
            rows.append(Row(question, dropped, False))
    return rows


def best_of_n_accuracy(rows: list[Row], probs: list[float]) -> tuple[float, float]:
    """(accuracy of the best-scored sample per question, mean accuracy of one sample)."""
    best: dict[str, tuple[float, bool]] = {}
    for row, p in zip(rows, probs, strict=True):
        if row.question not in best or p > best[row.question][0]:
            best[row.question] = (p, row.correct)
    top = sum(ok for _, ok in best.values()) / len(best)
    return top, sum(r.correct for r in rows) / len(rows)


def metrics(rows: list[Row], probs: list[float], threshold: float = 0.5) -> dict[str, float]:
    from scipy.stats import mannwhitneyu

    right = [p for p, r in zip(probs, rows, strict=True) if r.correct]
    wrong = [p for p, r in zip(probs, rows, strict=True) if not r.correct]
    auc = float(mannwhitneyu(right, wrong).statistic) / (len(right) * len(wrong))
    top, single = best_of_n_accuracy(rows, probs)
    return {
        "best_of_n_accuracy": round(top, 4),
        "single_sample_accuracy": round(single, 4),
        "rows": len(rows),
        "correct_rate": len(right) / len(rows),
        "auc": round(auc, 4),
        "false_positive_rate": round(sum(p >= threshold for p in wrong) / len(wrong), 4),
        "true_positive_rate": round(sum(p >= threshold for p in right) / len(right), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-orm")
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (affects bits)")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rows = policy_rows(args.problems, args.samples, seed=args.seed)
    questions = list(dict.fromkeys(r.question for r in rows))
    held_out = set(questions[-len(questions) // 10 :])
    train = [r for r in rows if r.question not in held_out]
    train += contrast([q for q in questions if q not in held_out], random.Random(args.seed))
    valid = [r for r in rows if r.question in held_out]
    sampled_s = time.perf_counter() - started
    print(f"{len(train)} training rows, {len(valid)} held out ({sampled_s:.0f} s to sample)")

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(POLICY)
    model = LlamaForSequenceClassification.from_pretrained(
        POLICY, num_labels=1, dtype=torch.float32
    )
    model.config.pad_token_id = PAD
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(args.seed)
    model.train()
    for step in range(1, args.steps + 1):
        batch = rng.sample(train, args.batch_size)
        ids, mask, labels = encode(tokenizer, batch)
        loss = loss_fn(model(input_ids=ids, attention_mask=mask).logits[:, 0], labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)
    trained_s = time.perf_counter() - started - sampled_s

    held = metrics(valid, scores(model, tokenizer, valid))
    print(json.dumps(held))
    args.out.mkdir(parents=True, exist_ok=True)
    model.config.architectures = ["LlamaForSequenceClassification"]
    model.save_pretrained(args.out)
    for name in TOKENIZER_FILES:
        shutil.copy(POLICY / name, args.out / name)
    summary = {
        "initialized_from": "models/tiny-arith",
        "training_rows": len(train),
        "held_out": held,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "torch": torch.__version__,
        "sampling_seconds": round(sampled_s, 1),
        "training_seconds": round(trained_s, 1),
    }
    summary["args"].pop("out")
    (args.out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
