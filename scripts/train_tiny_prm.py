"""Train the bundled process reward model (models/tiny-prm) for the arithmetic task.

    python scripts/train_tiny_prm.py                    # writes models/tiny-prm/

A process reward model (PRM) scores every step of a solution: here, the probability that
the step is right. It has the architecture of Qwen2.5-Math-PRM, ``Qwen2ForProcessRewardModel``
(a Qwen2 decoder, then Linear-ReLU-Linear to two classes at every position), which vLLM's
pooling runner serves with step pooling: it returns the two-class probabilities at every
occurrence of the step tag. The tag here is the task's step delimiter ``|``, written after
every segment, the final ``=answer`` one included (``7+5=12|4+8+1=13|=132|``).

The decoder is initialized from the policy ``models/tiny-arith`` (its Llama weights map
one to one onto Qwen2's; Qwen2's query/key/value biases start at zero) and trained with
cross-entropy at the tag positions. Labels come from the step oracle
(:func:`pytest_tts.tasks.arith.check_steps`, what ``step_check`` uses): a step is right
when it is the reference step at its position. Training rows are the policy's own sampled
completions (:func:`arith_verifier_data.policy_rows`: its mistakes are the planted ones it
learned, dropped carries, off-by-one column sums, misconceptions), plus, per training
question, the reference solution and traces with planted slips (every carry dropped; an
off-by-one sum in one column) so that within a question only the arithmetic tells the
labels apart. Everything is seeded and the number of steps is fixed, so a re-run with the
same torch build and thread count reproduces the weights.

The last tenth of the training questions is held out (policy samples only); the script
reports, on them: step-verdict accuracy against the oracle at 0.5; the ProcessBench
measures (on wrong traces, is the first step below 0.5 the first wrong step; on right
traces, is no step below 0.5; their harmonic mean F1); the expected calibration error of
the step probabilities; and best-of-4 accuracy with a path scored by its weakest step.
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

from pytest_tts.tasks.arith import (  # noqa: E402
    STEP_DELIMITER,
    ArithProblem,
    check_steps,
    parse_question,
)

PAD = 0
TAG = STEP_DELIMITER
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def tagged(completion: str) -> str:
    """The completion with the tag after every segment (the verifier's layout)."""
    body = completion.strip().removesuffix(TAG)
    return body + TAG if body else ""


def step_labels(row: Row) -> list[bool]:
    return check_steps(row.question, tagged(row.completion).removesuffix(TAG))


def qwen2_config(policy: dict[str, Any]) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=policy["vocab_size"],
        hidden_size=policy["hidden_size"],
        intermediate_size=policy["intermediate_size"],
        num_hidden_layers=policy["num_hidden_layers"],
        num_attention_heads=policy["num_attention_heads"],
        num_key_value_heads=policy["num_key_value_heads"],
        max_position_embeddings=policy["max_position_embeddings"],
        rms_norm_eps=policy["rms_norm_eps"],
        rope_theta=policy.get("rope_parameters", {}).get("rope_theta", 10000.0),
        tie_word_embeddings=False,
        bos_token_id=policy["bos_token_id"],
        eos_token_id=policy["eos_token_id"],
        pad_token_id=PAD,
        num_labels=2,
        architectures=["Qwen2ForProcessRewardModel"],
    )


class TinyPRM:
    """A Qwen2 decoder and the two-class step head, named as vLLM loads them (both head
    layers have biases: vLLM's ``Qwen2RewardBaseModel`` allocates them and leaves them
    uninitialized when a checkpoint lacks them)."""

    def __init__(self, config: Any) -> None:
        import torch
        from transformers import Qwen2Model

        self.model = Qwen2Model(config)
        h = config.hidden_size
        self.score = torch.nn.Sequential(
            torch.nn.Linear(h, h), torch.nn.ReLU(), torch.nn.Linear(h, 2)
        )

    def parameters(self) -> list[Any]:
        return [*self.model.parameters(), *self.score.parameters()]

    def __call__(self, ids: Any, mask: Any) -> Any:
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.score(hidden)

    def load_policy(self, policy: Path) -> None:
        """Copy the policy's decoder weights (same names under ``model.``)."""
        import torch
        from safetensors.torch import load_file

        weights = load_file(str(policy / "model.safetensors"))
        own = self.model.state_dict()
        copied = 0
        with torch.no_grad():
            for name, tensor in weights.items():
                key = name.removeprefix("model.")
                if key in own and own[key].shape == tensor.shape:
                    own[key].copy_(tensor)
                    copied += 1
            for key, tensor in own.items():
                if key.endswith("_proj.bias"):
                    tensor.zero_()
        self.model.load_state_dict(own)
        if copied < len(own) - 3 * self.model.config.num_hidden_layers:
            msg = f"copied only {copied} of {len(own)} decoder tensors from {policy}"
            raise SystemExit(msg)

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)
        self.score.train(mode)

    def save(self, out: Path, config: Any) -> None:
        from safetensors.torch import save_file

        out.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.contiguous() for k, v in self.model.state_dict().items()}
        tensors |= {f"score.{k}": v.contiguous() for k, v in self.score.state_dict().items()}
        save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
        config.save_pretrained(out)


def encode(tokenizer: Any, rows: list[Row], tag_id: int) -> tuple[Any, Any, Any, Any]:
    """Right-padded ids, masks, the tag positions of the completion (bool) and step labels
    (long, -100 elsewhere)."""
    import torch

    ids_list, label_list = [], []
    for row in rows:
        prompt = tokenizer(row.prompt)["input_ids"]
        body = tokenizer(tagged(row.completion), add_special_tokens=False)["input_ids"]
        ids = prompt + body
        labels = [-100] * len(ids)
        steps = step_labels(row)
        tags = [len(prompt) + i for i, t in enumerate(body) if t == tag_id]
        for position, ok in zip(tags, steps, strict=True):
            labels[position] = int(ok)
        ids_list.append(ids)
        label_list.append(labels)
    width = max(len(e) for e in ids_list)
    ids = torch.tensor([e + [PAD] * (width - len(e)) for e in ids_list])
    labels = torch.tensor([e + [-100] * (width - len(e)) for e in label_list])
    return ids, (ids != PAD).long(), labels != -100, labels


def step_probs(model: TinyPRM, tokenizer: Any, rows: list[Row], tag_id: int) -> list[list[float]]:
    import torch

    model.train(False)
    out: list[list[float]] = []
    with torch.no_grad():
        for start in range(0, len(rows), 512):
            batch = rows[start : start + 512]
            ids, mask, at, _ = encode(tokenizer, batch, tag_id)
            probs = torch.softmax(model(ids, mask), dim=-1)[..., 1]
            out.extend(probs[i][at[i]].tolist() for i in range(len(batch)))
    model.train(True)
    return out


def planted(questions: list[str], rng: random.Random) -> list[Row]:
    """Per question: the reference solution, every carry dropped, one off-by-one sum."""
    rows = []
    for question in questions:
        problem = ArithProblem(*parse_question(question))
        rows.append(Row(question, problem.solution, True))
        for slip, forget in ((0.0, 1.0), (0.35, 0.0)):
            trace = noisy_trace(problem, rng, slip=slip, forget=forget, believe=0.0)
            if trace != problem.solution:
                rows.append(Row(question, trace, False))
    return rows


def step_metrics(rows: list[Row], probs: list[list[float]]) -> dict[str, float]:
    """Step accuracy, ProcessBench first-error measures, ECE and best-of-n by the weakest
    step, against the step oracle, at 0.5."""
    import numpy as np

    flat_p, flat_y = [], []
    err_hits = err_total = ok_hits = ok_total = 0
    best: dict[str, tuple[float, bool]] = {}
    for row, p in zip(rows, probs, strict=True):
        labels = step_labels(row)
        if not labels:
            continue
        flat_p += p
        flat_y += labels
        first_true = next((i for i, ok in enumerate(labels) if not ok), None)
        first_pred = next((i for i, q in enumerate(p) if q < 0.5), None)
        if first_true is None:
            ok_total += 1
            ok_hits += first_pred is None
        else:
            err_total += 1
            err_hits += first_pred == first_true
        weakest = min(p)
        if row.question not in best or weakest > best[row.question][0]:
            best[row.question] = (weakest, row.correct)
    pa, ya = np.array(flat_p), np.array(flat_y, dtype=float)
    bins = np.minimum((pa * 10).astype(int), 9)
    ece = sum(
        (bins == b).mean() * abs(pa[bins == b].mean() - ya[bins == b].mean())
        for b in range(10)
        if (bins == b).any()
    )
    acc_err, acc_ok = err_hits / max(err_total, 1), ok_hits / max(ok_total, 1)
    f1 = 2 * acc_err * acc_ok / (acc_err + acc_ok) if acc_err + acc_ok else 0.0
    return {
        "traces": len(rows),
        "steps": len(flat_y),
        "step_accuracy": round(float(((pa >= 0.5) == (ya == 1)).mean()), 4),
        "wrong_traces": err_total,
        "first_error_accuracy": round(acc_err, 4),
        "right_traces": ok_total,
        "right_trace_accuracy": round(acc_ok, 4),
        "first_error_f1": round(f1, 4),
        "expected_calibration_error": round(float(ece), 4),
        "best_of_n_min_accuracy": round(sum(ok for _, ok in best.values()) / len(best), 4),
        "single_sample_accuracy": round(sum(r.correct for r in rows) / len(rows), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-prm")
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (affects bits)")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rows = policy_rows(args.problems, args.samples, seed=args.seed)
    questions = list(dict.fromkeys(r.question for r in rows))
    held_out = set(questions[-len(questions) // 10 :])
    train = [r for r in rows if r.question not in held_out and step_labels(r)]
    train += planted([q for q in questions if q not in held_out], random.Random(args.seed))
    valid = [r for r in rows if r.question in held_out]
    sampled_s = time.perf_counter() - started
    print(f"{len(train)} training rows, {len(valid)} held out ({sampled_s:.0f} s to sample)")

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(POLICY)
    tag_id = tokenizer.convert_tokens_to_ids(TAG)
    policy_config = json.loads((POLICY / "config.json").read_text())
    config = qwen2_config(policy_config)
    model = TinyPRM(config)
    model.load_policy(POLICY)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    rng = random.Random(args.seed)
    model.train(True)
    for step in range(1, args.steps + 1):
        batch = rng.sample(train, args.batch_size)
        ids, mask, at, labels = encode(tokenizer, batch, tag_id)
        logits = model(ids, mask)
        loss = torch.nn.functional.cross_entropy(logits[at], labels[at])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)
    trained_s = time.perf_counter() - started - sampled_s

    held = step_metrics(valid, step_probs(model, tokenizer, valid, tag_id))
    print(json.dumps(held))
    model.save(args.out, config)
    for name in TOKENIZER_FILES:
        shutil.copy(POLICY / name, args.out / name)
    summary = {
        "initialized_from": "models/tiny-arith",
        "step_tag": TAG,
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
