"""An answer that loops is cut at its first repeated item (summarizer.models.repeats)."""

from __future__ import annotations

import json

import pytest

from summarizer.models.base import RepeatStop
from summarizer.models.repeats import RepeatWatch

RULE = RepeatStop("claims", "statement")


def _claim(statement: str, pid: str = "P1", speaker: str | None = None) -> dict[str, object]:
    return {"quotes": [pid], "speaker": speaker, "statement": statement, "kind": "fact", "certainty": "asserted"}


def _feed(text: str, step: int = 1) -> tuple[RepeatWatch, int]:
    """Feed ``text`` in pieces of ``step`` characters; returns the watch and how many characters it took."""
    watch = RepeatWatch(RULE)
    for i in range(0, len(text), step):
        if watch.feed(text[i : i + step]):
            return watch, i + step
    return watch, len(text)


# SmolLM2's answer on the seed article, shortened: its third statement written again under other passage ids.
LOOPING = (
    '{ "headline":"North Korean troops in Russia", "summary":"The White House says 3,000.", "claims":['
    '{"quotes":["P1"],"speaker":"the White House","statement":"\\n\\"At least 3,000 soldiers moved.","kind":"quote",'
    '"certainty":"hedged"} ,{"quotes":["P21"],"speaker":"Zelensky","statement":"10,000 are being prepared.",'
    '"kind":"quote","certainty":"asserted"} ,{"quotes":["P23"],"speaker":null,"statement":"We do not yet know {[x]}.",'
    '"kind":"fact","certainty":"asserted"} ,{"quotes":["P24"],"speaker":null,"statement":"We do NOT yet   know {[x]}.",'
    '"kind":"fact","certainty":"asserted"} ,{"quotes":["P25"],"speaker":null,"statement":"We do not yet know {[x]}.",'
    '"kind":"fact","certainty":"asserted"} ]}'
)


@pytest.mark.parametrize("step", [1, 3, 17])
def test_repeated_statements_in_a_row_stop_the_answer_and_keep_the_items_before_them(step: int) -> None:
    watch, read = _feed(LOOPING, step)
    assert watch.repeated and watch.item == 5
    # stopped at the fifth claim's statement (the second repeat in a row), not at the end
    assert LOOPING.index('"P25"') < read < LOOPING.index('"kind"', LOOPING.index('"P25"')) + 17
    answer = json.loads(watch.answer)
    assert answer["headline"] == "North Korean troops in Russia"
    assert [c["quotes"] for c in answer["claims"]] == [["P1"], ["P21"], ["P23"]]
    assert answer["claims"][0]["statement"] == '\n"At least 3,000 soldiers moved.'


def test_one_repeat_followed_by_a_new_claim_is_not_a_loop() -> None:
    # the default model on a frank-valid article: its fifth claim repeats its fourth, its sixth is new
    claims = [_claim(f"Statement number {n}.") for n in range(1, 5)]
    claims += [_claim("Statement number 4."), _claim("Something new."), _claim("Statement number 1.")]
    text = json.dumps({"headline": "h", "summary": "s", "claims": claims})
    watch, _ = _feed(text, 4)
    assert not watch.repeated and watch.answer == text
    once = RepeatWatch(RepeatStop("claims", "statement", times=1))
    assert once.feed(text) and [c["statement"] for c in json.loads(once.answer)["claims"]] == [
        f"Statement number {n}." for n in range(1, 5)]


def test_distinct_items_are_read_to_the_end_unchanged() -> None:
    text = json.dumps({"headline": "h", "summary": "s", "claims": [
        _claim("Austin said troops have gone to Russia."), _claim("Kirby said at least 3,000 soldiers moved."),
        _claim("Zelensky said 10,000 were being prepared.")]})
    watch, _ = _feed(text, 5)
    assert not watch.repeated
    assert watch.answer == text


def test_only_the_named_field_of_the_named_array_counts() -> None:
    # the same speaker and passage in every claim, the summary's sentence again as a statement, a "statement" key
    # elsewhere: none of them is a loop
    text = json.dumps({"headline": "h", "summary": "Kirby said 3,000 moved.", "statement": "x",
                       "other": [{"statement": "y"}, {"statement": "y"}],
                       "claims": [_claim("Kirby said 3,000 moved.", "P2", "Kirby"), _claim("x", "P2", "Kirby"),
                                  _claim("y", "P2", "Kirby")]})
    watch, _ = _feed(text)
    assert not watch.repeated


def test_an_answer_without_a_repeat_is_returned_as_read_even_unfinished() -> None:
    # the first item has nothing to repeat; an answer still being written is returned as read so far
    watch, _ = _feed('{"claims":[{"statement":"a b c","kind":"fact"')
    assert not watch.repeated
    assert watch.answer == '{"claims":[{"statement":"a b c","kind":"fact"'


def test_utf8_split_across_tokens_is_read_whole() -> None:
    text = json.dumps({"claims": [_claim("Zelensky’s figure: 10,000.")] * 3}, ensure_ascii=False).encode()
    watch = RepeatWatch(RULE)
    stopped = False
    for i in range(len(text)):
        stopped = watch.feed_bytes(text[i : i + 1])
        if stopped:
            break
    assert stopped
    assert json.loads(watch.answer) == {"claims": [_claim("Zelensky’s figure: 10,000.")]}


@pytest.mark.slow
def test_smollm2_stops_at_its_looping_claims_keeping_what_it_wrote_before(
        seed: str, caplog: pytest.LogCaptureFixture) -> None:
    """The real embedded SmolLM2 on the seed article loops (its third statement again and again, each time under
    another passage id). The draft request, answered with and without the stop: the stopped answer is the whole
    answer's claims up to its first repeat (SmolLM2's own rule, stricter than the request's), in fewer tokens."""
    import logging
    from dataclasses import replace

    from summarizer import Summarizer
    from summarizer.models.base import ChatRequest, ChatResponse

    requests: list[ChatRequest] = []
    with Summarizer("local/smollm2-135m", cache=False) as session:
        model = session.model
        complete = model.complete

        def recording(request: ChatRequest) -> ChatResponse:
            requests.append(request)
            return complete(request)

        model.complete = recording  # type: ignore[method-assign]
        summary = session.summarize(seed)
        draft = requests[0]
        assert draft.repeat_stop == RULE
        with caplog.at_level(logging.INFO, logger="summarizer.models.local"):
            stopped = complete(draft)
        whole = complete(replace(draft, repeat_stop=None))
    assert stopped.finish_reason == "repeat" and whole.finish_reason == "stop"
    assert any("stopped at claims item" in r.getMessage() for r in caplog.records)
    assert stopped.completion_tokens < whole.completion_tokens
    cut, full = json.loads(stopped.content), json.loads(whole.content)
    statements = [" ".join(c["statement"].casefold().split()) for c in full["claims"]]
    repeats = [s in statements[:i] for i, s in enumerate(statements)]
    loop = repeats.index(True)  # SmolLM2 has looped at its first repeat
    assert cut == {**full, "claims": full["claims"][:loop]}
    assert summary.claims and summary.provenance.attempts == 1  # the cut answer is a valid draft


def test_a_model_may_hold_a_stricter_loop_rule_than_the_request() -> None:
    """SmolLM2 writes nothing right after its first repeated claim (measured); the default model may, so the
    request's rule (two in a row) stands for it. A model's own rule only ever makes the request's stricter."""
    from summarizer.models.local import LocalModel

    smol, default = LocalModel.from_name("local/smollm2-135m"), LocalModel.from_name("local/qwen2.5-coder-1.5b")
    assert RULE.times == 2
    assert smol.loop_rule(RULE) == RepeatStop("claims", "statement", times=1)
    assert default.loop_rule(RULE) == RULE
    once = RepeatStop("claims", "statement", times=1)
    assert default.loop_rule(once) == once and smol.loop_rule(once) == once
