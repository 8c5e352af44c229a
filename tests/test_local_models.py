"""Real models: the embedded SmolLM2-135M in-process, and the same weights behind llama.cpp's own server."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from helpers import assert_grounded, free_port

from summarizer import ChatRequest, OutputError, SummarizeOptions, Summary, get_model, summarize
from summarizer.models.openai_compat import OpenAIModel
from summarizer.models.weights import SMOLLM2
from summarizer.schema import DraftSummary

pytestmark = pytest.mark.slow


def test_embedded_smollm2_end_to_end(seed: str) -> None:
    s = summarize(seed, model="local/smollm2-135m", cache=False, max_claims=4)
    assert_grounded(s, seed)
    assert s.claims, "the grammar limits quotes to article sentences, so even 135M gives grounded claims"
    assert all(e.match == "exact" for c in s.claims for e in c.evidence)
    assert s.provenance.structured_output == "grammar"
    assert s.provenance.prompt_tokens > 700 and s.provenance.completion_tokens > 0
    assert s.headline and s.summary


def test_embedded_second_call_comes_from_the_cache_without_the_model(seed: str) -> None:
    first = summarize(seed, model="local/smollm2-135m", max_claims=2)
    model = get_model("local/smollm2-135m")

    class Untouchable:
        """The same name and endpoint, but any call fails the test."""

        name, endpoint, context_window = model.name, model.endpoint, model.context_window

        def count_tokens(self, text: str) -> int:
            raise AssertionError("the cache should answer before the model is used")

        def complete(self, request: object) -> object:
            raise AssertionError("the cache should answer before the model is called")

    second = summarize(seed, model=Untouchable(), max_claims=2)  # type: ignore[arg-type]
    assert second.provenance.cached and second.claims == first.claims


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on loopback, serving SmolLM2."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(SMOLLM2.path()), "--model_alias", "smollm2",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", str(os.cpu_count())],
            stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx2.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_llamacpp_server_contract(llama_server: str, seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server nobody here wrote rejects json_schema; the client must fall back and still ground evidence."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    model = get_model("openai/smollm2")
    assert isinstance(model, OpenAIModel)
    request = ChatRequest(messages=({"role": "user", "content": f"Summarize as JSON:\n<article>\n{seed}\n</article>"},),
                          schema=DraftSummary.model_json_schema(), max_tokens=200)
    response = model.complete(request)
    assert model.mode() == "json_object_schema"  # json_schema was refused with HTTP 500, as documented
    assert response.structured_output == "json_object"
    assert response.prompt_tokens > 700  # usage reported by the server
    # SmolLM2 without a grammar often quotes a name instead of a sentence: then no claim is grounded, and that is an
    # OutputError, never a summary of zero claims. Either way the server's answers went through the whole pipeline.
    try:
        s = summarize(seed, model=model, cache=False, max_claims=3, max_attempts=2, max_tokens=700)
    except OutputError as exc:
        assert "no claim could be grounded" in str(exc) and exc.attempts == 2
        return
    assert s.provenance.structured_output == "json_object"
    assert s.provenance.endpoint == llama_server
    assert_grounded(s, seed)
    assert s.claims


def test_llamacpp_server_rejects_json_schema_for_real(llama_server: str) -> None:
    """Pin the server behaviour the fallback exists for, so a change in it is noticed."""
    response = httpx2.post(f"{llama_server}/chat/completions", timeout=120, json={
        "model": "smollm2", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    })
    assert response.status_code == 500 and "json_object" in response.text


def test_embedded_model_path_form(seed: str, tmp_path: Path) -> None:
    s = summarize(seed, model=f"local/{SMOLLM2.path()}", cache=False, max_claims=2)
    assert s.provenance.model.endswith(".gguf")
    assert_grounded(s, seed)


def test_passages_with_straight_quotes_and_backslashes_can_be_quoted_exactly() -> None:
    """llama-cpp-python's own converter mis-escapes these and crashes the process; ours must let the model write
    each of them, byte for byte, as JSON."""
    from summarizer.models import ChatRequest
    from summarizer.models.local import LocalModel

    passages = ('The minister said "we will not resign" on Monday.', "A path like C:\\data was also mentioned.",
                "Tabs\tand “curly quotes” … too.")
    model = LocalModel.from_name("local/smollm2-135m")
    for wanted in passages:
        others = [p for p in passages if p != wanted]
        request = ChatRequest(
            messages=({"role": "user", "content": f"Answer with JSON. Copy this passage into 'quote': {wanted}"},),
            schema={"type": "object", "properties": {"quote": {"type": "string", "x-verbatim": True}},
                    "required": ["quote"]},
            verbatim_choices=(wanted, *others), max_tokens=64,
        )
        answer = json.loads(model.complete(request).content)
        assert answer["quote"] in passages


def test_grammar_keeps_length_bounds() -> None:
    """Without bounds in the grammar SmolLM2 writes 200-character headlines and empty statements (CI saw both)."""
    from summarizer.models import ChatRequest
    from summarizer.models.local import LocalModel

    request = ChatRequest(
        messages=({"role": "user", "content": "Write a very long headline about North Korean troops, as JSON."},),
        schema={"type": "object", "properties": {"headline": {"type": "string", "minLength": 5, "maxLength": 40}},
                "required": ["headline"]},
        max_tokens=128,
    )
    answer = json.loads(LocalModel.from_name("local/smollm2-135m").complete(request).content)
    assert 5 <= len(answer["headline"]) <= 40


CHINESE = "\u5317\u4eac\u662f\u4e2d\u56fd\u7684\u9996\u90fd (Beijing is the capital of China)"


def test_a_latin_string_keeps_other_scripts_out() -> None:
    """The restatement's grammar: SmolLM2 copies Chinese when it may, and writes Latin letters when it may not."""
    from summarizer.models.gbnf import LATIN, PLAIN_KEY, is_latin
    from summarizer.models.local import LocalModel

    model = LocalModel.from_name("local/smollm2-135m")

    def text(plain: object) -> str:
        request = ChatRequest(
            messages=({"role": "user", "content": "Answer with JSON. Copy this text into 'text': " + CHINESE},),
            schema={"type": "object", "properties": {"text": {"type": "string", "maxLength": 80, PLAIN_KEY: plain}},
                    "required": ["text"]},
            max_tokens=96,
        )
        return str(json.loads(model.complete(request).content)["text"])

    assert "\u5317\u4eac" in text(True)
    latin = text(LATIN)
    assert latin.strip() and is_latin(latin), latin


#: The mode llama.cpp's server takes for batch bodies: ``json_object`` with the schema attached (it refuses
#: ``json_schema``; plain ``json_object`` leaves a 135M model to guess the schema, and it never does).
MODE = "json_object_schema"


def test_openai_batch_rounds_answered_by_llamacpp_server(llama_server: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Export → llama.cpp's server answers every exported body (reshaped into Batch result lines) → import, for as
    many rounds as the re-asks need: every id ends with exactly one row, and a summary's evidence is verbatim."""
    from helpers import answer_batch

    from summarizer.batch import JsonlSink, read_input
    from summarizer.openai_batch import OpenAIBatch, next_requests_path

    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-none")
    texts = {
        "kirby": ("The White House said on Wednesday that at least 3,000 North Korean soldiers had moved into "
                  "eastern Russia. \"If they do deploy to fight against Ukraine, they're fair game,\" spokesman "
                  "John Kirby told reporters."),
        "storm": ("A storm cut power to 40,000 homes in Cornwall on Monday, the utility said. Engineers expect to "
                  "restore most supplies by Tuesday evening, according to a company statement."),
    }
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": k, "article": v}) + "\n" for k, v in texts.items()))
    out = tmp_path / "rows.jsonl"
    rounds = 0

    def run(results: list[Path]) -> int:
        batch = OpenAIBatch(get_model("openai/smollm2"), out, mode=MODE,
                            options=SummarizeOptions(max_claims=2))
        sink = JsonlSink(out)
        try:
            return batch.run_round(read_input(source), sink, next_requests_path(out), results).requests
        finally:
            sink.close()

    pending = run([])
    assert pending == 2
    first = [json.loads(line) for line in next_requests_path(out).read_text().splitlines()]
    assert all(line["body"]["response_format"]["type"] == "json_object" for line in first)
    while pending and rounds < 4:
        rounds += 1
        answered = answer_batch(next_requests_path(out), tmp_path / f"results-{rounds}.jsonl", llama_server)
        assert answered == pending
        pending = run([tmp_path / f"results-{rounds}.jsonl"])
    assert pending == 0, f"still {pending} request(s) after {rounds} rounds"
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(rows) == ["kirby", "storm"]
    for key, row in rows.items():
        if "summary" in row:
            summary = Summary.model_validate(row["summary"])
            assert summary.provenance.structured_output == "json_object"  # the live path says the same
            assert_grounded(summary, texts[key])
        else:  # a 135M model may stay invalid after every re-ask: then an OutputError row, as live
            assert row["error"]["type"] == "OutputError", row["error"]
    assert any("summary" in r for r in rows.values())


def test_llamacpp_server_token_probabilities_match_the_embedded_ones(llama_server: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The model seam's TokenScores over an endpoint's logprobs (completions echo; chat top_logprobs) read the same
    weights as the embedded runtime. The first answer token's log-probabilities agree with the embedded ones. The
    prompt tokens' (echo) come back for exactly the text's tokens, but llama-cpp-python's server computes other
    values for them than its own embedded runtime does (about -10 where it gives -1; "0" after "3," agrees): so
    only their alignment is checked here, and the model mode's coefficients are never applied to them silently
    (a reader other than the fitted ones gets a note)."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    endpoint = get_model("openai/smollm2").token_scores()
    embedded = get_model("local/smollm2-135m").token_scores()
    assert endpoint is not None and embedded is not None
    prefix = "Article:\nNorth Korea has sent about 3,000 troops to Russia, the White House said.\n\nSummary:"
    text = " The White House said 3,000 North Korean troops are in Russia."
    remote, local = endpoint.continuation_logprobs(prefix, text), embedded.continuation_logprobs(prefix, text)
    assert len(remote) == len(local)
    assert all(math.isfinite(v) and v <= 0 for v in remote)
    asked = ({"role": "user", "content": "Is Paris the capital of France? Answer Yes or No."},)
    remote_answer = endpoint.answer_logprobs(asked, ("Yes", "No"))
    local_answer = embedded.answer_logprobs(asked, ("Yes", "No"))
    assert remote_answer == pytest.approx(local_answer, abs=0.05)
