"""Greedy grammar-constrained sampling that asks the grammar about one token, not the whole vocabulary.

llama-cpp-python samples each token through one chain: penalties, then the grammar, then greedy. The grammar step
decodes and tests every token of the vocabulary against the grammar's stacks (152k tokens for Qwen2.5) although
almost always the token greedy would pick anyway is allowed. llama.cpp's own tools sample the other way round
(``common_sampler_sample``): pick the token without the grammar, ask the grammar about that one token, and only if
it is refused apply the grammar to the whole vocabulary and pick again. At temperature 0 the two give the same
token: greedy picks the highest logit, and the grammar only removes tokens, so when the unconstrained pick is
allowed it is the highest allowed one. This module does that for greedy requests; sampling at a temperature keeps
llama-cpp-python's own chain (the order would change which token is drawn).

:func:`install` replaces the private ``Llama._init_sampler`` of one model instance; llama-cpp-python's ``generate``
only calls ``sample(ctx, idx)`` on what it returns. Where that private method is missing (another version), nothing
is replaced and llama-cpp-python samples as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from .repeats import RepeatWatch

log = logging.getLogger(__name__)

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class GrammarLast:
    """A sampler for ``Llama.generate``: penalties and greedy, the grammar asked about the chosen token first."""

    def __init__(self, llama: Any, grammar: Any, *, repeat_penalty: float, frequency_penalty: float,
                 presence_penalty: float, watch: RepeatWatch | None = None) -> None:
        import llama_cpp as c

        llama_cpp: Any = c  # ctypes structures and functions, typed loosely by llama-cpp-python
        self._c = llama_cpp
        vocab = llama._model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        llama_cpp.llama_sampler_chain_add(self.chain, llama_cpp.llama_sampler_init_penalties(
            self.n_vocab, llama.last_n_tokens_size, repeat_penalty, frequency_penalty, presence_penalty))
        llama_cpp.llama_sampler_chain_add(self.chain, llama_cpp.llama_sampler_init_greedy())
        self.grammar = llama_cpp.llama_sampler_init_grammar(vocab, grammar._grammar.encode("utf-8"),
                                                            grammar._root.encode("utf-8"))
        if not self.grammar:
            llama_cpp.llama_sampler_free(self.chain)
            raise ValueError("llama.cpp refused the grammar")
        self._data: Any = (llama_cpp.llama_token_data * self.n_vocab)()
        self._view = np.frombuffer(self._data, dtype=_TOKEN_DATA)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self._all: Any = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._data, llama_cpp.llama_token_data_p), size=self.n_vocab, selected=-1, sorted=False)
        self._one_data: Any = (llama_cpp.llama_token_data * 1)()
        self._one: Any = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._one_data, llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False)
        #: Tokens picked, and how many of them the grammar refused at first (the whole vocabulary then asked).
        self.tokens = 0
        self.refused = 0
        #: Reads the answer as it grows; once it reports a repeat, the end of generation is returned instead.
        self.watch = watch
        self._vocab = vocab
        self._piece_buffer = ctypes.create_string_buffer(64)
        self._eos = int(llama.token_eos())

    def _fill(self, ctx: Any, idx: int) -> None:
        logits = self._c.llama_get_logits_ith(ctx.ctx, idx)
        self._view["id"] = self._ids
        self._view["logit"] = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        self._view["p"] = 0.0
        self._all.data = ctypes.cast(self._data, self._c.llama_token_data_p)
        self._all.size, self._all.selected, self._all.sorted = self.n_vocab, -1, False

    def _pick(self) -> int:
        self._c.llama_sampler_apply(self.chain, ctypes.byref(self._all))
        return int(self._all.data[self._all.selected].id)

    def _allowed(self, token: int) -> bool:
        self._one_data[0].id, self._one_data[0].logit, self._one_data[0].p = token, 0.0, 0.0
        self._one.data = ctypes.cast(self._one_data, self._c.llama_token_data_p)
        self._one.size, self._one.selected, self._one.sorted = 1, -1, False
        self._c.llama_sampler_apply(self.grammar, ctypes.byref(self._one))
        return bool(np.isfinite(self._one.data[0].logit))

    def sample(self, ctx: Any, idx: int) -> int:
        self._fill(ctx, idx)
        token = self._pick()
        self.tokens += 1
        if not self._allowed(token):
            self.refused += 1
            self._fill(ctx, idx)
            self._c.llama_sampler_apply(self.grammar, ctypes.byref(self._all))
            token = self._pick()
        self._c.llama_sampler_accept(self.grammar, token)
        self._c.llama_sampler_accept(self.chain, token)
        if self.watch is not None and self.watch.feed_bytes(self._piece(token)):
            return self._eos
        return token

    def _piece(self, token: int) -> bytes:
        """The token's text as bytes (a character may span tokens). Not llama-cpp-python's ``token_to_piece`` (it
        returns its whole 32-byte buffer, NULs included) nor ``detokenize`` (a piece past 32 bytes, a run of spaces
        in a large vocabulary, comes back cut)."""
        size = self._c.llama_token_to_piece(self._vocab, token, self._piece_buffer, len(self._piece_buffer), 0, False)
        if size < 0:  # longer than the buffer: -size bytes
            self._piece_buffer = ctypes.create_string_buffer(-size)
            size = self._c.llama_token_to_piece(self._vocab, token, self._piece_buffer, -size, 0, False)
        return self._piece_buffer.raw[: max(size, 0)]

    def close(self) -> None:
        if self.chain:
            self._c.llama_sampler_free(self.chain)
            self._c.llama_sampler_free(self.grammar)
            self.chain = self.grammar = None

    def __del__(self) -> None:
        self.close()


@contextlib.contextmanager
def watching(llama: Any, watch: RepeatWatch | None) -> Iterator[None]:
    """Greedy grammar-constrained calls of ``llama`` inside this block feed ``watch`` and stop at a repeat (the
    caller holds the model's lock: one call at a time)."""
    llama._summarizer_watch = watch
    try:
        yield
    finally:
        llama._summarizer_watch = None


def install(llama: Any) -> bool:
    """Make ``llama`` (a ``llama_cpp.Llama``) sample greedy grammar-constrained requests with :class:`GrammarLast`;
    False (and nothing changed) where this llama-cpp-python has no ``_init_sampler`` to replace."""
    original = getattr(llama, "_init_sampler", None)
    if original is None or not hasattr(llama, "sample"):
        log.info("llama-cpp-python without Llama._init_sampler: its own grammar sampling is used")
        return False

    def init_sampler(self: Any, *args: Any, **kwargs: Any) -> Any:
        grammar = kwargs.get("grammar")
        plain = (kwargs.get("temp") == 0.0 and grammar is not None and not args and not kwargs.get("logits_processor")
                 and kwargs.get("mirostat_mode", 0) == 0)
        if not plain:
            return original(*args, **kwargs)
        return GrammarLast(self, grammar, repeat_penalty=kwargs.get("repeat_penalty", 1.0),
                           frequency_penalty=kwargs.get("frequency_penalty", 0.0),
                           presence_penalty=kwargs.get("presence_penalty", 0.0),
                           watch=getattr(self, "_summarizer_watch", None))

    llama._init_sampler = types.MethodType(init_sampler, llama)
    return True
