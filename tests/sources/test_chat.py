"""``chat = true``: prompts go through the model's chat template (a real tokenizer folder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_tts.errors import DatasetError
from pytest_tts.sources.files import jsonl

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tokenizer_folder(folder: Path, chat_template: str | None) -> Path:
    """The tiny model's tokenizer files (it adds BOS itself), with a chat template if given."""
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(ROOT / "models" / "tiny-arith" / name, folder / name)
    if chat_template is not None:
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config["chat_template"] = chat_template
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "question": "1+1", "answer": "2"}\n')
    return path


def test_chat_template_applied_once_without_a_second_bos(tmp_path: Path, data: Path) -> None:
    tok = tokenizer_folder(tmp_path / "tok", TEMPLATE)
    source = jsonl(data, prompt="Q:{question}", chat=True)
    (problem,) = source.load(tokenizer_path=tok)
    # the template writes <s> and so would the tokenizer: the source drops the template's
    assert problem.prompt == "<|user|>Q:1+1<|assistant|>"
    assert problem.meta["raw_prompt"] == "Q:1+1"
    assert source.content_hash(tok) != jsonl(data, prompt="Q:{question}").content_hash()


def test_the_sources_own_tokenizer_argument_wins(tmp_path: Path, data: Path) -> None:
    tokenizer_folder(tmp_path / "tok", TEMPLATE)
    source = jsonl(data.name, chat=True, tokenizer="tok", base_dir=tmp_path)
    (problem,) = source.load(tokenizer_path=tmp_path / "elsewhere")
    assert problem.prompt.endswith("<|assistant|>")


def test_chat_needs_a_tokenizer_with_a_template(tmp_path: Path, data: Path) -> None:
    with pytest.raises(DatasetError, match="chat = true needs the model's tokenizer"):
        jsonl(data, chat=True).load()
    plain = tokenizer_folder(tmp_path / "plain", None)
    with pytest.raises(DatasetError, match="has no chat template"):
        jsonl(data, chat=True).load(tokenizer_path=plain)
    with pytest.raises(DatasetError, match="no tokenizer could be loaded from"):
        jsonl(data, chat=True).load(tokenizer_path=tmp_path / "missing")
    with pytest.raises(DatasetError, match="chat must be true or false, got 'yes'"):
        jsonl(data, chat="yes")  # type: ignore[arg-type]
