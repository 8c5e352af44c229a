"""The embedded model: llama.cpp in-process through llama-cpp-python, with grammar-constrained JSON.

A loaded GGUF file is a :class:`_Context`, shared by every :class:`LocalModel` of the process that names it (loading
takes seconds and a gigabyte). A llama.cpp context is not thread-safe, so the context owns the lock that serialises
its calls — not the wrapper, of which there may be many. Each call also takes one of the process's CPU slots
(cores ÷ threads per call, at least one), so two contexts never spin their threads on the same cores at once:
llama.cpp's threads busy-wait, and oversubscribed cores are many times slower, not a little.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import home_dir
from ..errors import ConfigurationError, ModelError
from ..schema_tools import plain_schema, restrict_verbatim
from . import sampling
from .base import DEFAULT_FLAG_REASKS, ChatRequest, ChatResponse, ModelBase, RepeatStop, TokenScores
from .gbnf import GrammarError, schema_to_gbnf
from .prefix import PrefixStates, common_prefix
from .repeats import RepeatWatch
from .weights import EMBEDDED, Weights

log = logging.getLogger(__name__)

#: Context for a GGUF file given by path, whose training context we do not know in advance.
DEFAULT_N_CTX = 4096
#: Where saved prompt prefixes live, under ``$SUMMARIZER_HOME`` (:mod:`summarizer.models.prefix`).
STATES = "states"
#: Mild repetition penalty: at temperature 0 small models otherwise loop inside free-text fields.
REPEAT_PENALTY = 1.1

class _Context:
    """One loaded model file: the llama.cpp object, the lock its calls take, its chat template and its saved prompt
    prefixes (:mod:`summarizer.models.prefix`)."""

    def __init__(self, llama: Any, path: Path) -> None:
        self.llama = llama
        self.lock = threading.Lock()
        self.prefixes = PrefixStates(llama, path, home_dir() / STATES)
        self._formatter: Any = None
        self._system_tokens: dict[tuple[tuple[str, str], ...], list[int]] = {}

    def tokens(self, text: str, *, bos: bool = False, special: bool = False) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=bos, special=special))

    def chat_prompt(self, messages: list[dict[str, str]]) -> tuple[str, bool]:
        """The prompt the model's own chat template makes of ``messages``, ready for the assistant's reply (what
        ``create_chat_completion`` reads), and whether the template put in the BOS token itself. The template is
        compiled once."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = self.llama
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError("this GGUF file has no chat template to ask a question with")
            eos, bos = llama.token_eos(), llama.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
        result = self._formatter(messages=list(messages))
        return result.prompt, result.added_special

    def chat_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        prompt, added_special = self.chat_prompt(messages)
        return self.tokens(prompt, bos=not added_special, special=True)

    def hold_system_prefix(self, messages: list[dict[str, str]], shared: int = 1) -> str:
        """Before a chat call: the context holds the tokens its first ``shared`` messages (the system message and
        any worked examples) open the prompt with — the part every article's prompt shares — from a saved state
        where there is one (:class:`PrefixStates`)."""
        if not messages or messages[0].get("role") != "system" or not 1 <= shared < len(messages):
            return "short"
        if not self.llama.metadata.get("tokenizer.chat_template"):
            return "short"  # llama-cpp-python falls back to a format of its own, which this cannot predict
        try:
            tokens = self.chat_tokens(messages)
            head = tuple((m["role"], m["content"]) for m in messages[:shared])
            if head not in self._system_tokens:
                self._system_tokens[head] = self.chat_tokens(messages[:shared])
        except Exception as exc:  # a template this cannot render costs only what the saving would save
            log.warning("prompt prefix not saved: the chat template failed here (%s)", exc)
            return "short"
        return self.prefixes.prepare(tokens, common_prefix(tokens, self._system_tokens[head]))


_loaded: dict[tuple[str, int, bool], _Context] = {}
_load_lock = threading.Lock()
_cpu_slots: threading.BoundedSemaphore | None = None


@atexit.register
def _close_all() -> None:
    """Free models while the interpreter is whole (llama-cpp-python's finalizer fails at shutdown otherwise).

    A context still generating (on a daemon thread, after Ctrl-C) is left to the operating system: freeing it under
    the running call would crash the exit.
    """
    with _load_lock:
        for context in _loaded.values():
            if context.lock.acquire(timeout=0.1):
                with contextlib.suppress(Exception):
                    context.llama.close()
        _loaded.clear()


def threads() -> int:
    """CPU threads for llama.cpp: ``$SUMMARIZER_THREADS``, else :func:`physical_cores`. On a machine shared with
    other llama.cpp processes, fewer threads than cores is much faster (its threads spin while they wait)."""
    env = os.environ.get("SUMMARIZER_THREADS", "")
    if env.strip():
        try:
            return max(1, int(env))
        except ValueError:
            raise ConfigurationError(f"SUMMARIZER_THREADS must be a whole number, not {env!r}") from None
    return physical_cores()


def usable_cpus() -> list[int]:
    """The logical CPUs this process may run on (its affinity: a container's or ``taskset``'s share)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


#: Where Linux describes each CPU's place in the machine.
SYS_CPU = Path("/sys/devices/system/cpu")


def physical_cores(cpus: list[int] | None = None, root: Path = SYS_CPU) -> int:
    """Physical cores among the usable CPUs: llama.cpp's matrix work gains nothing from a core's second hardware
    thread and loses to the two contending, so one thread per core. Where the topology cannot be read, every
    usable CPU counts."""
    cpus = usable_cpus() if cpus is None else cpus
    cores = set()
    for cpu in cpus:
        topology = root / f"cpu{cpu}" / "topology"
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            return max(1, len(cpus))
    return max(1, len(cores))


def _cpu() -> threading.BoundedSemaphore:
    """The process's CPU slots for embedded calls: cores ÷ threads per call, at least one."""
    global _cpu_slots
    with _load_lock:
        if _cpu_slots is None:
            _cpu_slots = threading.BoundedSemaphore(max(1, physical_cores() // threads()))
        return _cpu_slots


def _load(path: Path, n_ctx: int, flash_attn: bool = False) -> _Context:
    """Load a GGUF file once per process (loading takes seconds; generation is what we pay for)."""
    key = (str(path), n_ctx, flash_attn)
    with _load_lock:
        if key not in _loaded:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigurationError(
                    'embedded models need llama-cpp-python: CMAKE_ARGS="-DGGML_NATIVE=OFF" '
                    'pip install "summarizer[local]"'
                ) from None
            try:
                llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads(), flash_attn=flash_attn, seed=0,
                              verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigurationError(f"cannot load {path}: {exc}") from None
            sampling.install(llama)
            _loaded[key] = _Context(llama, path)
        return _loaded[key]


class LocalModel(ModelBase):
    """A GGUF model run in this process. JSON is forced by a grammar built from the request's schema."""

    def __init__(self, name: str, path: Path | None = None, *, weights: Weights | None = None,
                 n_ctx: int | None = None) -> None:
        if path is None and weights is None:
            raise ValueError("give a path or weights")
        self._name = name
        self._path = path
        self._weights = weights
        self._n_ctx = n_ctx or (weights.n_ctx if weights else DEFAULT_N_CTX)

    @classmethod
    def from_name(cls, name: str) -> LocalModel:
        """``local/<key>`` for a packaged model, or ``local/<path to a .gguf file>``."""
        rest = name.removeprefix("local/")
        if rest in EMBEDDED:
            return cls(name, weights=EMBEDDED[rest])
        path = Path(rest).expanduser()
        if path.suffix == ".gguf":
            if not path.is_file():
                raise ConfigurationError(f"no GGUF file at {path}")
            return cls(name, path=path)
        known = ", ".join(f"local/{k}" for k in EMBEDDED)
        raise ConfigurationError(f"unknown embedded model {name!r}; use one of {known}, or local/<path.gguf>")

    @property
    def name(self) -> str:
        return self._name

    @property
    def endpoint(self) -> str | None:
        return None

    @property
    def context_window(self) -> int:
        return self._n_ctx

    @property
    def max_concurrency(self) -> int:
        return 1  # one call at a time per context; more would only queue on its lock

    @property
    def flag_reasks(self) -> int:
        return self._weights.flag_reasks if self._weights is not None else DEFAULT_FLAG_REASKS

    def model_path(self) -> Path:
        if self._path is None:
            assert self._weights is not None
            self._path = self._weights.path()
        return self._path

    def _context(self) -> _Context:
        return _load(self.model_path(), self._n_ctx, self._weights is not None and self._weights.flash_attn)

    def load(self) -> None:
        """Assemble the weights if needed and load them (a ConfigurationError now rather than at the first call)."""
        self._context()

    def count_tokens(self, text: str) -> int:
        return len(self._context().llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def token_scores(self) -> TokenScores:
        # read without flash attention, always: the faithfulness reader's coefficients were fitted on these
        # probabilities, and flash attention moves them (by 0.18 nats on SmolLM2's answer to a yes/no question)
        return _LocalTokenScores(_load(self.model_path(), self._n_ctx), self._n_ctx)

    def loop_rule(self, asked: RepeatStop) -> RepeatStop:
        """The request's loop rule, or this model's stricter one where measured (``Weights.loop_repeats``)."""
        own = self._weights.loop_repeats if self._weights is not None else None
        return replace(asked, times=own) if own is not None and own < asked.times else asked

    def complete(self, request: ChatRequest) -> ChatResponse:
        choices = request.verbatim_choices or ()
        if request.grammar_schema is not None:
            schema = request.grammar_schema()
        elif choices or request.source_choices is not None:
            sources = request.source_choices() if request.source_choices is not None else ()
            schema = restrict_verbatim(request.schema, choices, sources)
        else:
            schema = plain_schema(request.schema)
        context = self._context()
        llama = context.llama
        grammar = grammar_for(llama, schema)
        watch = RepeatWatch(self.loop_rule(request.repeat_stop)) if request.repeat_stop is not None else None
        with context.lock, _cpu(), sampling.watching(llama, watch):
            try:
                context.hold_system_prefix(list(request.messages), request.shared_messages)
                out = llama.create_chat_completion(
                    messages=list(request.messages),
                    grammar=grammar,
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    seed=request.seed,
                    repeat_penalty=REPEAT_PENALTY,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"{self._name} failed: {exc}") from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        content, finish = choice["message"].get("content") or "", choice.get("finish_reason")
        if watch is not None and watch.repeated:
            log.info("%s: stopped at %s item %d, the last of %d in a row whose %s repeats an earlier item's; the "
                     "answer keeps the items before them", self._name, watch.rule.array, watch.item, watch.rule.times,
                     watch.rule.field)
            content, finish = watch.answer, "repeat"
        return ChatResponse(
            content=content,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            structured_output="grammar",
            finish_reason=finish,
        )


def grammar_for(llama: Any, schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar for ``schema``, checked by llama.cpp itself before any sampling.

    llama-cpp-python does not check: a grammar llama.cpp refuses leaves a null sampler that crashes the process
    (SIGSEGV) on the first token. Building the sampler once here turns that into a :class:`ModelError`.
    """
    import llama_cpp
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        text = schema_to_gbnf(schema)
    except GrammarError as exc:
        raise ModelError(f"cannot constrain output to this schema: {exc}") from None
    sampler = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, text.encode("utf-8"), b"root")
    if not sampler:
        raise ModelError("llama.cpp refused the output grammar built from the schema (its log says where)")
    llama_cpp.llama_sampler_free(sampler)
    return LlamaGrammar.from_string(text, verbose=False)


class _LocalTokenScores:
    """Token log-probabilities read from the loaded llama.cpp context, under its lock and a CPU slot.

    Logits are computed only for the positions asked about: the context keeps llama-cpp-python's
    ``logits_all=False`` (an n_ctx x vocabulary buffer, gigabytes at 8k, and logits for every prompt token
    otherwise), and the tokens whose probabilities are read go through one batch of llama.cpp with every output
    requested. The longest common prefix with what the context last read is kept (llama-cpp-python's own rule for
    generation), so reading many texts after one article reads the article once.
    """

    def __init__(self, context: _Context, window: int) -> None:
        self._context = context
        self.score_window = window

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def _tokens(self, text: str, *, bos: bool = False, special: bool = False) -> list[int]:
        return self._context.tokens(text, bos=bos, special=special)

    def continuation_logprobs(self, prefix: str, text: str) -> list[float]:
        head = self._tokens(prefix, bos=True)
        tail = self._tokens(text)
        if not tail:
            return []
        if not head:  # nothing before the text's first token to predict it from
            raise ModelError("reading a text's token probabilities needs a prefix (this model adds no BOS token)")
        rows = self._logprobs(head + tail, len(tail) + 1)[:-1]  # row i predicts tail[i]
        return [float(rows[i, token]) for i, token in enumerate(tail)]

    def answer_logprobs(self, messages: tuple[dict[str, str], ...], answers: tuple[str, ...]) -> dict[str, float]:
        row = self._logprobs(self._context.chat_tokens(list(messages)), 1)[0]
        out = {}
        for answer in answers:
            first = self._tokens(answer)
            if not first:
                raise ValueError(f"answer {answer!r} has no tokens")
            out[answer] = float(row[first[0]])
        return out

    def _logprobs(self, tokens: list[int], rows: int) -> Any:
        """Log-softmax rows for the last ``rows`` positions of ``tokens`` (row j: the distribution of the token after
        position len(tokens) - rows + j)."""
        import numpy as np

        if len(tokens) > self.score_window:
            raise ModelError(f"{len(tokens)} tokens do not fit the model's {self.score_window}-token context")
        context = self._context
        llama = context.llama
        with context.lock, _cpu():
            try:
                kept = 0
                limit = min(llama.n_tokens, len(tokens) - rows)
                seen = llama.input_ids
                while kept < limit and seen[kept] == tokens[kept]:
                    kept += 1
                llama.n_tokens = kept
                llama.eval(tokens[kept : len(tokens) - rows])  # logits of these positions are not needed
                llama._ctx.kv_cache_seq_rm(-1, llama.n_tokens, -1)
                vocab = llama.n_vocab()
                out = []
                for start in range(len(tokens) - rows, len(tokens), llama.n_batch):
                    batch = tokens[start : min(len(tokens), start + llama.n_batch)]
                    llama._batch.set_batch(batch=batch, n_past=llama.n_tokens, logits_all=True)
                    llama._ctx.decode(llama._batch)
                    logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(batch), vocab))
                    out.append(logits.astype(np.float64))
                    llama.input_ids[llama.n_tokens : llama.n_tokens + len(batch)] = batch
                    llama.n_tokens += len(batch)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"reading token probabilities failed: {exc}") from None
        logits = np.concatenate(out)
        top = logits.max(axis=1, keepdims=True)
        return logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))
