"""How long the first install compiles llama-cpp-python, with the build settings set-up used before and now.

    .venv/bin/python bench/bench_build.py [--runs before,after]

Each run makes a fresh venv in a temporary directory and times ``pip install --no-cache-dir
llama-cpp-python==<the version in .venv>`` with that run's environment (``CMAKE_ARGS``, scikit-build-core's
``SKBUILD_*``; pip's wheel cache ignores both, so without ``--no-cache-dir`` a cached wheel would be reused and
nothing measured). Reported: wall seconds, CPU seconds of the build (children's user + system time), the size of the
installed ``llama_cpp/lib``, and whether ``import llama_cpp`` then load SmolLM2 and generate a few tokens.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Loads SmolLM2 and generates a few tokens: the build works for what the project uses.
SMOKE = ("import sys, llama_cpp; m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, verbose=False); "
         "print(m.create_completion('The capital of France is', max_tokens=4)['choices'][0]['text'])")

#: The build environment of each variant: "before" is what scripts/setup.sh passed until this benchmark, "after"
#: what it passes now (no multimodal library). Tried and dropped (2026-12-05): building only the ``llama`` target
#: (scikit-build-core's ``SKBUILD_BUILD_TARGETS=llama``) to skip llama.cpp's ``common`` library, which nothing here
#: loads: llama.cpp's own install rules install ``libllama-common``, so such a build fails at install.
VARIANTS: dict[str, dict[str, str]] = {
    "before": {"CMAKE_ARGS": "-DGGML_NATIVE=OFF"},
    "after": {"CMAKE_ARGS": "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"},
}


def build(variant: dict[str, str], wheel_version: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir",
                               f"llama-cpp-python=={wheel_version}"],
                              env={**os.environ, **variant}, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            return {"ok": False, "error": done.stderr[-1500:]}
        lib = next(venv.glob("lib/python*/site-packages/llama_cpp/lib"))
        size = sum(f.stat().st_size for f in lib.iterdir())
        from summarizer.models.weights import SMOLLM2

        check = subprocess.run([str(python), "-c", SMOKE, str(SMOLLM2.path())], capture_output=True, text=True)
        return {"ok": check.returncode == 0, "wall_s": wall,
                "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                "lib_mb": size / 1e6, "libs": sorted(f.name for f in lib.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="before,after")
    args = parser.parse_args()
    wheel_version = version("llama-cpp-python")
    print(f"llama-cpp-python {wheel_version}, {os.cpu_count()} CPUs")
    print("| variant | environment | wall s | CPU s | lib MB | imports | libraries |")
    print("|---|---|--:|--:|--:|---|---|")
    for name in args.runs.split(","):
        r = build(VARIANTS[name], wheel_version)
        shown = " ".join(f"{k}={v!r}" for k, v in VARIANTS[name].items())
        if not r.get("wall_s"):
            print(f"| {name} | `{shown}` | failed | | | | {r.get('error', '')!r} |")
            continue
        print(f"| {name} | `{shown}` | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['lib_mb']:.1f} | "
              f"{r['ok']} | {', '.join(r['libs'])} |", flush=True)


if __name__ == "__main__":
    main()
