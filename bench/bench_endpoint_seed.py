"""The seed article through a real llama.cpp server (llama-cpp-python's, on loopback), this tree against another.

    .venv/bin/python bench/bench_endpoint_seed.py [--before PATH_TO_CHECKOUT] [--model qwen|smollm2] [--runs 1]

Starts ``python -m llama_cpp.server`` with the embedded weights, then summarises the seed article through
``openai/<alias>`` (structured output negotiated down to ``json_object`` with a schema: that server refuses
``json_schema``) once per run with each tree, in a subprocess whose ``PYTHONPATH`` puts that tree first, the cache
off. Reported per tree: model calls (attempts), rejected claims and why, kept claims, flags by kind, seconds. It
measures what structured output on an endpoint buys: before passage ids, a quote had to be copied out verbatim
and a 1.5B model often did not; with ids in the schema's ``enum`` it cannot name text the article lacks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from loopback import free_port, wait_until_up  # noqa: E402

SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"

#: Run in the tree under test: one summary of the seed, as JSON on stdout.
CHILD = """
import json, sys, time
from summarizer import summarize
t = time.perf_counter()
try:
    s = summarize(open(sys.argv[1]).read(), model=sys.argv[2], cache=False)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300], "seconds": time.perf_counter() - t}))
else:
    d = s.model_dump(mode="json")
    print(json.dumps({"attempts": d["provenance"]["attempts"], "claims": len(d["claims"]),
                      "rejected": [r["reason"][:120] for r in d["rejected_claims"]],
                      "flags": sorted(f["kind"] for f in d.get("flags", [])),
                      "completion_tokens": d["provenance"]["completion_tokens"],
                      "seconds": round(time.perf_counter() - t, 1)}))
"""


def weights(model: str) -> Path:
    from summarizer.models.weights import QWEN, SMOLLM2

    return (QWEN if model == "qwen" else SMOLLM2).path()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit to compare with")
    parser.add_argument("--model", choices=["qwen", "smollm2"], default="qwen")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(weights(args.model)), "--model_alias", args.model,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", str(os.cpu_count() or 2)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        if not wait_until_up(f"{base}/models", server, timeout=180):
            print("llama_cpp.server did not start", file=sys.stderr)
            return 1
        trees = ([("before", args.before.resolve())] if args.before else []) + [("after", REPO)]
        env = {**os.environ, "OPENAI_BASE_URL": base, "OPENAI_API_KEY": "none"}
        for run in range(args.runs):
            for label, tree in trees:
                out = subprocess.run([sys.executable, "-c", CHILD, str(SEED), f"openai/{args.model}"],
                                     env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                                     check=False, cwd=tree)
                row = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {
                    "error": out.stderr[-300:]}
                print(json.dumps({"tree": label, "commit": _commit(tree), "run": run + 1, **row}), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


def _commit(tree: Path) -> str:
    return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
