"""Train the bundled tiny model (models/tiny-arith) on step-by-step addition, reproducibly.

    python scripts/train_tiny_model.py                  # writes models/tiny-arith/

A small Llama (LlamaForCausalLM) with a character-level tokenizer learns to write the steps of
``pytest_tts.tasks.arith`` (``Q:347+285\\nA:`` → ``7+5=12|4+8+1=13|3+2+1=6|=632``). Training
problems are drawn from a seeded stream that never yields a question of data/arith-test.jsonl.
The loss covers only the completion and EOS. Everything is seeded and the number of optimizer
steps is fixed, so a re-run on the same thread count reproduces the weights.

Budget forcing. Besides the full traces, every batch holds ``--forced`` times as many forced
examples: one of the batch's traces cut after a random number of reasoning characters, the
answer cue ``|=`` appended, and the true answer. The loss covers only that answer and EOS
(not the cut reasoning, not the cue), so the model learns to answer when its thinking is cut
short (from the columns it has added and the question) without learning to stop early on its
own; the full traces, and their random stream, are the same as without forced examples.

The training budget is deliberately small: the model ends up right often, but not always, so
that sampling many answers and voting over them has room to help.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from pytest_tts.tasks.arith import (
    ALPHABET,
    ANSWER_PREFIX,
    STEP_DELIMITER,
    ArithProblem,
    format_prompt,
    is_correct,
    stream_problems,
)

ROOT = Path(__file__).resolve().parent.parent
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]
PAD, BOS, EOS, UNK = range(4)


def build_tokenizer(out: Path, max_length: int) -> Any:
    """A character-level `tokenizers` tokenizer whose post-processor adds BOS.

    One token per character of ``ALPHABET``; ``Fuse`` decoding joins tokens with no spaces, so
    ``decode(encode(s)) == s``. The post-processor puts ``<s>`` in front of every encoding, so a
    plain string prompt gets BOS from transformers and from vLLM alike.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    for ch in ALPHABET:
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
        "model_max_length": max_length,
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


# Column facts the model is taught to get wrong more often than right (digit pair → error).
# Problems that contain one are answered wrongly by greedy decoding and by majority vote, yet
# some samples still get them right: coverage keeps growing where voting has stalled, and a
# step checker can tell the right samples from the wrong ones.
MISCONCEPTIONS = {(7, 8): 1, (8, 7): 1, (6, 9): -1, (9, 6): -1, (5, 8): -1, (8, 5): -1}


def noisy_trace(
    problem: ArithProblem, rng: random.Random, slip: float, forget: float, believe: float
) -> str:
    """A worked solution with the kind of mistakes a real model makes, at fixed rates.

    Per column: with probability ``forget`` a carry-in is dropped; with probability ``slip`` the
    sum is off by one; a column in ``MISCONCEPTIONS`` gets its wrong sum with probability
    ``believe``. Later columns and the answer follow from what was written, so a wrong trace is
    internally consistent and only a step check against the truth exposes it.
    """
    da, db = str(problem.a)[::-1], str(problem.b)[::-1]
    steps: list[str] = []
    digits: list[str] = []
    carry = 0
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        if carry and rng.random() < forget:
            carry = 0
        total = x + y + carry
        if (x, y) in MISCONCEPTIONS and rng.random() < believe:
            total += MISCONCEPTIONS[(x, y)]
        elif rng.random() < slip:
            total += rng.choice((-1, 1))
        total = max(total, 0)
        lhs = f"{x}+{y}" + (f"+{carry}" if carry else "")
        steps.append(f"{lhs}={total}")
        digits.append(str(total % 10))
        carry = total // 10
    if carry:
        digits.append(str(carry))
    answer = str(int("".join(reversed(digits))))
    return STEP_DELIMITER.join([*steps, ANSWER_PREFIX + answer])


def encode_example(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """Token ids of prompt + completion + EOS, and labels that ignore the prompt (-100)."""
    prompt_ids = tokenizer.encode(prompt).ids  # starts with BOS
    completion_ids = [*tokenizer.encode(completion, add_special_tokens=False).ids, EOS]
    ids = prompt_ids + completion_ids
    labels = [-100] * len(prompt_ids) + completion_ids
    return ids, labels


def forced_example(
    tokenizer: Any, problem: ArithProblem, trace: str, rng: random.Random
) -> tuple[list[int], list[int]]:
    """``trace`` cut after a random number of reasoning characters (fewer than it has), the
    cue ``|=`` and the true answer; labels cover only the answer and EOS."""
    reasoning = trace.split(STEP_DELIMITER + ANSWER_PREFIX)[0]
    cut = reasoning[: rng.randrange(len(reasoning))]
    cue = STEP_DELIMITER + ANSWER_PREFIX
    prompt_ids = tokenizer.encode(problem.prompt).ids
    held = tokenizer.encode(cut + cue, add_special_tokens=False).ids
    answer = [*tokenizer.encode(str(problem.a + problem.b), add_special_tokens=False).ids, EOS]
    return prompt_ids + held + answer, [-100] * (len(prompt_ids) + len(held)) + answer


def read_test_questions(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(
    model: Any, tokenizer: Any, rows: list[dict[str, str]], samples: int, seed: int
) -> tuple[float, float]:
    """Greedy accuracy and mean accuracy of ``samples`` temperature-1.0 samples per problem."""
    import torch

    prompts = [format_prompt(row["question"]) for row in rows]
    encoded = [tokenizer.encode(p).ids for p in prompts]
    width = max(len(e) for e in encoded)
    input_ids = torch.tensor([[PAD] * (width - len(e)) + e for e in encoded])
    attention = (input_ids != PAD).long()
    model.eval()
    results = []
    with torch.no_grad():
        greedy = model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=40,
            do_sample=False,
            pad_token_id=PAD,
            eos_token_id=EOS,
        )
        texts = [tokenizer.decode(g[width:].tolist(), skip_special_tokens=True) for g in greedy]
        results.append(sum(is_correct(r["question"], t) for r, t in zip(rows, texts, strict=True)))
        torch.manual_seed(seed)
        sampled = model.generate(
            input_ids=input_ids.repeat_interleave(samples, 0),
            attention_mask=attention.repeat_interleave(samples, 0),
            max_new_tokens=40,
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            pad_token_id=PAD,
            eos_token_id=EOS,
        )
        texts = [tokenizer.decode(g[width:].tolist(), skip_special_tokens=True) for g in sampled]
        questions = [r["question"] for r in rows for _ in range(samples)]
        results.append(sum(is_correct(q, t) for q, t in zip(questions, texts, strict=True)))
    model.train()
    return results[0] / len(rows), results[1] / (len(rows) * samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-arith")
    parser.add_argument("--test", type=Path, default=ROOT / "data" / "arith-test.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=384)
    parser.add_argument("--digits", default="2,3", help="operand digit counts, comma-separated")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (affects bits)")
    parser.add_argument("--eval-every", type=int, default=0, help="0: only at the end")
    parser.add_argument("--eval-samples", type=int, default=2)
    parser.add_argument("--slip", type=float, default=0.08, help="per-column off-by-one rate")
    parser.add_argument("--forget", type=float, default=0.25, help="dropped-carry rate")
    parser.add_argument("--believe", type=float, default=0.6, help="misconception rate")
    parser.add_argument(
        "--forced", type=float, default=1.0, help="forced examples per full trace in a batch"
    )
    args = parser.parse_args()

    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    max_length = 64
    tokenizer = build_tokenizer(args.out, max_length)
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        head_dim=args.hidden // args.heads,
        max_position_embeddings=max_length,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        tie_word_embeddings=True,
        rope_theta=10000.0,
    )
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}  head_dim: {config.head_dim}", flush=True)

    test_rows = read_test_questions(args.test)
    digits = tuple(int(d) for d in args.digits.split(","))
    stream = stream_problems(args.seed, digits, exclude=[r["question"] for r in test_rows])
    eval_rows = test_rows[:100]
    trace_rng = random.Random(args.seed + 1)
    cut_rng = random.Random(args.seed + 2)
    forced_per_batch = round(args.forced * args.batch_size)

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    start = time.monotonic()
    model.train()
    for step in range(args.steps):
        problems = [next(stream) for _ in range(args.batch_size)]
        traces = [noisy_trace(p, trace_rng, args.slip, args.forget, args.believe) for p in problems]
        batch = [
            encode_example(tokenizer, p.prompt, t) for p, t in zip(problems, traces, strict=True)
        ]
        batch += [
            forced_example(tokenizer, p, t, cut_rng)
            for p, t in zip(problems[:forced_per_batch], traces, strict=False)
        ]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [PAD] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        attention = (input_ids != PAD).long()
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 100 == 0 or step == args.steps - 1:
            elapsed = time.monotonic() - start
            print(f"step {step:5d}  loss {loss.item():.4f}  {elapsed:6.1f}s", flush=True)
        if args.eval_every and step and step % args.eval_every == 0:
            greedy, sampled = evaluate(model, tokenizer, eval_rows, args.eval_samples, args.seed)
            print(f"eval step {step}: greedy {greedy:.3f}  sampled {sampled:.3f}", flush=True)
    train_seconds = time.monotonic() - start

    model.generation_config = GenerationConfig(bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD)
    model.save_pretrained(args.out, safe_serialization=True)
    greedy, sampled = evaluate(model, tokenizer, eval_rows, args.eval_samples, args.seed)
    summary = {
        "parameters": n_params,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "forced_per_batch": forced_per_batch,
        "threads": args.threads,
        "train_seconds": round(train_seconds, 1),
        "greedy_accuracy_100": greedy,
        "sampled_accuracy_100": sampled,
    }
    print(json.dumps(summary), flush=True)
    (args.out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
