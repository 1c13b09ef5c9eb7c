"""Train the bundled tiny judge (models/tiny-judge) on the arithmetic model's own answers.

    python scripts/train_tiny_judge.py                  # writes models/tiny-judge/

A small Llama (LlamaForCausalLM) with a character-level tokenizer reads a question and a
completion of the bundled policy (``models/tiny-arith``) and writes a verdict, ``Y`` (the
answer is right) or ``N``, then EOS::

    Q:347+285
    A:7+5=12|4+8+1=13|3+2+1=6|=632
    J:Y

Training rows are :func:`scripts.arith_verifier_data.policy_rows`: the policy's own sampled
completions of training questions (never one of ``data/arith-test.jsonl``), labelled by
whether their stated answer is the right sum. The questions are split into training and
held-out ones; the confusion matrix on the held-out rows goes into ``training_summary.json``.
The loss is the verdict's and EOS's cross-entropy plus, weighted by ``--lm-weight``, the
language-modelling loss of the completion itself: predicting the policy's column sums teaches
the judge the arithmetic it needs to spot a wrong one (without it the verdict loss stays at
the label prior for the first hundred steps). Everything is seeded and the number of optimizer
steps is fixed, so a re-run with the same torch build and thread count reproduces the weights.

The budget is deliberately small: the judge is useful (far better than chance) but imperfect,
so that its false-positive rate is something a spec can measure and bound.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from arith_verifier_data import Row, policy_rows  # noqa: E402
from train_tiny_model import BOS, EOS, PAD, SPECIAL  # noqa: E402

from pytest_tts.tasks.arith import ALPHABET  # noqa: E402

# The judge's own characters beyond the task's: the verdict marker and the two verdicts.
JUDGE_MARK = "J:"
YES, NO = "Y", "N"
JUDGE_ALPHABET = ALPHABET + "JYN"
JUDGE_TEMPLATE = "{prompt}{completion}\nJ:"
"""The default judge prompt: the policy's prompt (``Q:a+b\\nA:``), its completion, ``\\nJ:``."""
MAX_LENGTH = 96


def judge_prompt(row: Row) -> str:
    return JUDGE_TEMPLATE.format(prompt=row.prompt, completion=row.completion)


def build_tokenizer(out: Path) -> Any:
    """The character-level tokenizer of ``train_tiny_model.build_tokenizer``, judge alphabet."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    for ch in JUDGE_ALPHABET:
        vocab[ch] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL])
    tokenizer.decoder = decoders.Fuse()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", BOS)]
    )
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "model_max_length": MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        "padding_side": "left",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    special_map = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
    }
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n")
    return tokenizer


def encode(tokenizer: Any, row: Row) -> tuple[list[int], list[int], list[int]]:
    """Token ids of the judge prompt + verdict + EOS; labels on the verdict and EOS; and
    labels on the completion's own tokens (the auxiliary language-modelling loss)."""
    prefix = tokenizer.encode(row.prompt).ids  # BOS + "Q:a+b\nA:"
    prompt_ids = tokenizer.encode(judge_prompt(row)).ids[: MAX_LENGTH - 2]
    target = [tokenizer.token_to_id(YES if row.correct else NO), EOS]
    labels = [-100] * len(prompt_ids) + target
    tail = len(prompt_ids) - len(prefix) - len("\nJ:")
    lm = [-100] * len(prefix) + prompt_ids[len(prefix) : len(prefix) + max(tail, 0)]
    lm += [-100] * (len(labels) - len(lm))
    return prompt_ids + target, labels, lm


def confusion(model: Any, tokenizer: Any, rows: list[Row]) -> dict[str, Any]:
    """Greedy verdicts on ``rows``: the confusion matrix against the labels.

    ``tp``: right answers judged ``Y``; ``fp``: wrong answers judged ``Y``; ``tn``/``fn`` alike;
    ``other``: a first token that is neither verdict (counted as a rejection).
    """
    import torch

    yes, no = tokenizer.token_to_id(YES), tokenizer.token_to_id(NO)
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0, "other": 0}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(rows), 256):
            batch = rows[start : start + 256]
            encoded = [tokenizer.encode(judge_prompt(r)).ids[: MAX_LENGTH - 2] for r in batch]
            width = max(len(e) for e in encoded)
            ids = torch.tensor([[PAD] * (width - len(e)) + e for e in encoded])
            attention = (ids != PAD).long()
            positions = (attention.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=attention, position_ids=positions).logits
            for row, token in zip(batch, logits[:, -1].argmax(-1).tolist(), strict=True):
                said_yes = token == yes
                if token not in (yes, no):
                    counts["other"] += 1
                if row.correct:
                    counts["tp" if said_yes else "fn"] += 1
                else:
                    counts["fp" if said_yes else "tn"] += 1
    model.train()
    right, wrong = counts["tp"] + counts["fn"], counts["fp"] + counts["tn"]
    return {
        **counts,
        "rows": len(rows),
        "accuracy": (counts["tp"] + counts["tn"]) / max(len(rows), 1),
        "true_positive_rate": counts["tp"] / max(right, 1),
        "false_positive_rate": counts["fp"] / max(wrong, 1),
    }


def load_rows(args: argparse.Namespace) -> list[Row]:
    """Policy rows, from ``--rows-cache`` when it exists (sampling takes a minute or two)."""
    cache: Path | None = args.rows_cache
    if cache is not None and cache.exists():
        with cache.open(encoding="utf-8") as f:
            return [Row(**json.loads(line)) for line in f if line.strip()]
    rows = policy_rows(args.problems, args.samples, seed=args.data_seed)
    if cache is not None:
        with cache.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(asdict(r)) + "\n" for r in rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-judge")
    parser.add_argument("--problems", type=int, default=2000, help="distinct training questions")
    parser.add_argument("--samples", type=int, default=3, help="policy samples per question")
    parser.add_argument("--data-seed", type=int, default=7, help="seed of policy_rows")
    parser.add_argument("--held-out", type=float, default=0.2, help="share of held-out questions")
    parser.add_argument("--rows-cache", type=Path, default=None, help="JSONL cache of the rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=256)
    parser.add_argument(
        "--lm-weight", type=float, default=0.5, help="weight of the completion's LM loss"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (affects bits)")
    args = parser.parse_args()

    import torch
    from torch.nn.functional import cross_entropy
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    start = time.monotonic()
    rows = load_rows(args)
    data_seconds = time.monotonic() - start
    questions = sorted({r.question for r in rows})
    random.Random(args.seed).shuffle(questions)
    held = set(questions[: int(len(questions) * args.held_out)])
    train = [r for r in rows if r.question not in held]
    test = [r for r in rows if r.question in held]
    print(
        f"rows: {len(rows)} ({sum(r.correct for r in rows) / len(rows):.3f} correct), "
        f"train {len(train)}, held out {len(test)}, sampled in {data_seconds:.0f}s",
        flush=True,
    )

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    tokenizer = build_tokenizer(args.out)
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        head_dim=args.hidden // args.heads,
        max_position_embeddings=MAX_LENGTH,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        tie_word_embeddings=True,
        rope_theta=10000.0,
    )
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}  head_dim: {config.head_dim}", flush=True)

    encoded = [encode(tokenizer, r) for r in train]
    order_rng = random.Random(args.seed + 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    order: list[int] = []
    start = time.monotonic()
    model.train()
    for step in range(args.steps):
        if len(order) < args.batch_size:
            epoch = list(range(len(encoded)))
            order_rng.shuffle(epoch)
            order.extend(epoch)
        batch = [encoded[i] for i in order[: args.batch_size]]
        del order[: args.batch_size]
        width = max(len(ids) for ids, _, _ in batch)
        input_ids = torch.tensor([ids + [PAD] * (width - len(ids)) for ids, _, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab, _ in batch])
        lm_labels = torch.tensor([lm + [-100] * (width - len(lm)) for _, _, lm in batch])
        attention = (input_ids != PAD).long()
        logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
        flat = logits.reshape(-1, logits.shape[-1])
        verdict_loss = cross_entropy(flat, labels[:, 1:].reshape(-1), ignore_index=-100)
        lm_loss = cross_entropy(flat, lm_labels[:, 1:].reshape(-1), ignore_index=-100)
        loss = verdict_loss + args.lm_weight * lm_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == args.steps - 1:
            elapsed = time.monotonic() - start
            print(
                f"step {step:5d}  verdict loss {verdict_loss.item():.4f}  "
                f"lm loss {lm_loss.item():.4f}  {elapsed:6.1f}s",
                flush=True,
            )
    train_seconds = time.monotonic() - start

    model.generation_config = GenerationConfig(bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD)
    model.save_pretrained(args.out, safe_serialization=True)
    summary = {
        "parameters": n_params,
        "rows": len(rows),
        "train_rows": len(train),
        "held_out_rows": len(test),
        "problems": args.problems,
        "samples": args.samples,
        "data_seed": args.data_seed,
        "steps": args.steps,
        "lm_weight": args.lm_weight,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "threads": args.threads,
        "train_seconds": round(train_seconds, 1),
        "train": confusion(model, tokenizer, train),
        "held_out": confusion(model, tokenizer, test),
    }
    print(json.dumps(summary), flush=True)
    (args.out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
