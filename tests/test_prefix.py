"""Saved prompt prefixes with the real embedded SmolLM2: a state saved after reading a system message, loaded in a
fresh context, is the state reading it gives (the next token's logits agree), and a broken file costs a re-read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from summarizer import summarize
from summarizer.models.prefix import MIN_PREFIX, PrefixStates, common_prefix
from summarizer.models.weights import SMOLLM2

pytestmark = pytest.mark.slow

SYSTEM = ("You summarise news articles into claims a reader can check. Give each claim's speaker as the article "
          "names them, keep every hedge, and cite the passage that says it by its id. " * 4)


def _llama(flash_attn: bool = False) -> Any:
    from llama_cpp import Llama

    return Llama(model_path=str(SMOLLM2.path()), n_ctx=2048, n_threads=2, flash_attn=flash_attn, seed=0,
                 verbose=False)


def _prompt(llama: Any, user: str) -> tuple[list[int], int]:
    """A chat prompt's tokens and how many of them its system message opens it with."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=llama.metadata["tokenizer.chat_template"],
                                    eos_token=llama._model.token_get_text(llama.token_eos()), bos_token="",
                                    stop_token_ids=[llama.token_eos()])

    def tokens(messages: list[dict[str, str]]) -> list[int]:
        return list(llama.tokenize(formatter(messages=messages).prompt.encode(), add_bos=False, special=True))

    system = {"role": "system", "content": SYSTEM}
    full = tokens([system, {"role": "user", "content": user}])
    return full, common_prefix(full, tokens([system]))


def _next_logits(llama: Any, tokens: list[int]) -> Any:
    """Read what the context does not hold yet of ``tokens``; the logits of the token after them."""
    held = common_prefix(llama.input_ids[: llama.n_tokens], tokens)
    llama.n_tokens = held
    llama.eval(tokens[held:])
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def test_a_saved_prefix_is_the_state_reading_it_gives(tmp_path: Path, seed: str) -> None:
    first = _llama()
    tokens, prefix = _prompt(first, seed[:1500])
    assert prefix >= MIN_PREFIX and prefix < len(tokens)
    expected = _next_logits(_llama(), tokens)  # a context that reads the whole prompt itself

    states = PrefixStates(first, SMOLLM2.path(), tmp_path)
    assert states.prepare(tokens, prefix) == "read"
    assert [p.suffix for p in tmp_path.iterdir()] == [".state"]
    assert states.prepare(tokens, prefix) == "held"
    assert np.allclose(_next_logits(first, tokens), expected, atol=1e-2)

    fresh = _llama()  # a new process: the prefix comes from the file, and only the rest is read
    evaluated: list[int] = []
    read = fresh.eval
    fresh.eval = lambda t: (evaluated.append(len(t)), read(t))  # type: ignore[method-assign]
    assert PrefixStates(fresh, SMOLLM2.path(), tmp_path).prepare(tokens, prefix) == "disk"
    assert evaluated == [] and fresh.n_tokens == prefix
    logits = _next_logits(fresh, tokens)
    assert evaluated == [len(tokens) - prefix]
    assert int(np.argmax(logits)) == int(np.argmax(expected)) and np.allclose(logits, expected, atol=1e-2)

    other = list(fresh.tokenize(b"Another prompt altogether, with a system message of its own. " * 8))
    fresh.reset()
    _next_logits(fresh, other)  # another prompt (the restatement's, say) displaced it
    states = PrefixStates(fresh, SMOLLM2.path(), tmp_path)
    assert states.prepare(tokens, prefix) == "disk"
    fresh.reset()
    _next_logits(fresh, other)
    assert states.prepare(tokens, prefix) == "memory"
    assert np.allclose(_next_logits(fresh, tokens), expected, atol=1e-2)


def test_a_broken_state_file_is_dropped_and_the_prefix_read_again(tmp_path: Path, seed: str) -> None:
    llama = _llama()
    tokens, prefix = _prompt(llama, seed[:1500])
    expected = _next_logits(_llama(), tokens)
    PrefixStates(llama, SMOLLM2.path(), tmp_path).prepare(tokens, prefix)
    (saved,) = tmp_path.iterdir()
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 3])  # a crash mid-copy, a full disk

    fresh = _llama()
    states = PrefixStates(fresh, SMOLLM2.path(), tmp_path)
    assert states.prepare(tokens, prefix) == "read"
    assert np.allclose(_next_logits(fresh, tokens), expected, atol=1e-2)
    assert saved.stat().st_size > 0 and PrefixStates(_llama(), SMOLLM2.path(), tmp_path).prepare(
        tokens, prefix) == "disk"  # written whole again


def test_flash_attention_keeps_states_of_its_own(tmp_path: Path, seed: str) -> None:
    """Flash attention lays the value cache out otherwise: its states are saved beside the others, not mixed up
    with them, and one loaded gives what reading the prompt whole with flash attention gives."""
    plain = _llama()
    tokens, prefix = _prompt(plain, seed[:1500])
    assert PrefixStates(plain, SMOLLM2.path(), tmp_path).prepare(tokens, prefix) == "read"
    expected = _next_logits(_llama(flash_attn=True), tokens)
    assert PrefixStates(_llama(flash_attn=True), SMOLLM2.path(), tmp_path).prepare(tokens, prefix) == "read"
    assert len(list(tmp_path.iterdir())) == 2
    fresh = _llama(flash_attn=True)
    assert PrefixStates(fresh, SMOLLM2.path(), tmp_path).prepare(tokens, prefix) == "disk"
    logits = _next_logits(fresh, tokens)
    assert int(np.argmax(logits)) == int(np.argmax(expected)) and np.allclose(logits, expected, atol=1e-2)


def test_an_unwritable_folder_keeps_states_in_memory_only(tmp_path: Path, seed: str) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    llama = _llama()
    tokens, prefix = _prompt(llama, seed[:1500])
    states = PrefixStates(llama, SMOLLM2.path(), blocked / "states")
    assert states.prepare(tokens, prefix) == "read"
    llama.reset()
    assert states.prepare(tokens, prefix) == "memory"


def test_summaries_save_the_system_prefix_and_read_only_the_rest(seed: str) -> None:
    """The embedded model keeps its system message's state on its first summary; a later summary, after another
    prompt was read, reads only what follows the system message."""
    from summarizer import get_model

    model = get_model("local/smollm2-135m")
    context = model._context()  # type: ignore[attr-defined]
    folder = context.prefixes._folder
    summarize(seed, model=model, cache=False, max_claims=2)
    saved = sorted(folder.glob("*.state"))
    assert saved and all(p.stat().st_size > 1_000_000 for p in saved)  # hundreds of tokens' keys and values

    context.llama.reset()  # as if another prompt had been read meanwhile
    evaluated: list[int] = []
    read = context.llama.eval
    context.llama.eval = lambda t: (evaluated.append(len(t)), read(t))  # type: ignore[method-assign]
    try:
        s = summarize(seed[:-200], model=model, cache=False, max_claims=2)
    finally:
        del context.llama.eval
    assert evaluated and evaluated[0] < s.provenance.prompt_tokens / s.provenance.attempts - 500


def test_worked_example_turns_are_held_with_the_system_message(seed: str) -> None:
    """A prompt whose system message is followed by worked examples (the restatement's) shares them too: the
    context holds them from a state, and reads only the article's own message."""
    from summarizer import get_model
    from summarizer.prompts import Prompt

    model = get_model("local/smollm2-135m")
    context = model._context()  # type: ignore[attr-defined]
    examples = Prompt.load("restate").example_turns()
    assert examples
    messages = [{"role": "system", "content": SYSTEM}, *examples, {"role": "user", "content": seed[:600]}]
    shared = 1 + len(examples)
    tokens = context.chat_tokens(messages)
    with_examples = common_prefix(tokens, context.chat_tokens(messages[:shared]))
    assert with_examples > common_prefix(tokens, context.chat_tokens(messages[:1])) + 50
    context.llama.reset()
    assert context.hold_system_prefix(messages, shared) in ("read", "disk")
    assert context.llama.n_tokens == with_examples
    context.llama.reset()
    assert context.hold_system_prefix(messages, shared) == "memory"
    assert context.llama.n_tokens == with_examples
    assert context.hold_system_prefix(messages, len(messages)) == "short"  # nothing left to read: no state


def test_a_chat_template_that_cannot_be_rendered_here_costs_only_the_saving(seed: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    from summarizer import get_model

    model = get_model("local/smollm2-135m")
    context = model._context()  # type: ignore[attr-defined]

    def fails(messages: list[dict[str, str]]) -> tuple[str, bool]:
        raise jinja2.TemplateError("a template that needs tools")

    monkeypatch.setattr(context, "chat_prompt", fails)
    assert context.hold_system_prefix([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "x"}]) \
        == "short"
    s = summarize(seed, model=model, cache=False, max_claims=2)  # the call itself goes on
    assert s.claims
