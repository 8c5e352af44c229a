"""Saved prompt prefixes for the embedded model.

Every summary's prompt opens with the same system message (instructions and the answer's schema: about 800 tokens
of the seed's 1,600 with the default model), and reading it is the larger half of the prompt's cost. llama-cpp-python
already keeps the longest common prefix of consecutive calls, but a fresh process (README command 1, each CLI run)
starts empty, and a process that has just read another prompt (the restatement's, a judge's) has lost it.

:class:`PrefixStates` keeps llama.cpp's state after reading such a prefix — the key/value cache of sequence 0 and
nothing else, so about 22 MB for the default model, not the gigabytes of a whole context — in memory, and on disk
under ``$SUMMARIZER_HOME/states/``, keyed by the model file, llama-cpp-python's version and the prefix's tokens. A
call whose context does not already hold its prefix gets it back from memory, else from disk, else reads it once and
saves it. Anything that goes wrong with a saved state (a truncated file, another llama.cpp's format) costs only the
reading it would have saved: the file is dropped and the prefix read again.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Prefixes shorter than this are read: a state is not worth keeping for a few dozen tokens.
MIN_PREFIX = 64
#: States kept in memory per model (a few prompts: summarize, restate, merge, a judge).
IN_MEMORY = 4


def common_prefix(a: Any, b: Any) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixStates:
    """Saved prefix states of one loaded model (``llama``, a ``llama_cpp.Llama``). Not thread-safe: the caller holds
    the context's lock."""

    def __init__(self, llama: Any, model_file: Path, folder: Path | None) -> None:
        import llama_cpp

        stat = model_file.stat()
        self._llama = llama
        # flash attention lays the value cache out otherwise: a state saved with it does not load without it
        self._identity = (f"{model_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{llama_cpp.__version__}:"
                          f"{getattr(getattr(llama, 'context_params', None), 'flash_attn_type', '')}")
        self._folder = folder
        self._memory: OrderedDict[str, bytes] = OrderedDict()

    def prepare(self, tokens: list[int], prefix: int) -> str:
        """Make the context hold ``tokens[:prefix]`` before a call that reads ``tokens``, so llama-cpp-python's own
        prefix match skips them. Returns where the prefix came from: "held" (the context had it), "memory", "disk",
        "read" (read now and saved) or "short" (not worth a state)."""
        llama = self._llama
        if prefix < MIN_PREFIX or prefix >= len(tokens):
            return "short"
        if common_prefix(llama.input_ids[: llama.n_tokens], tokens) >= prefix:
            return "held"
        head = tokens[:prefix]
        key = hashlib.sha256(f"{self._identity}|{','.join(map(str, head))}".encode()).hexdigest()[:32]
        if key in self._memory:
            self._memory.move_to_end(key)
            if self._restore(self._memory[key], head):
                return "memory"
            del self._memory[key]
        if self._folder is not None and self._load(self._folder / f"{key}.state", head):
            self._remember(key)
            return "disk"
        llama.reset()
        llama.eval(head)
        self._remember(key)
        if self._folder is not None:
            self._save(self._folder / f"{key}.state", head)
        return "read"

    def _restore(self, data: bytes, head: list[int]) -> bool:
        import llama_cpp

        llama = self._llama
        llama._ctx.kv_cache_seq_rm(0, 0, -1)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(data), 0) != len(data):
            llama.reset()
            return False
        self._hold(head)
        return True

    def _remember(self, key: str) -> None:
        import llama_cpp

        ctx = self._llama._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0) != size:
            return
        self._memory[key] = bytes(buffer)
        while len(self._memory) > IN_MEMORY:
            self._memory.popitem(last=False)

    def _load(self, path: Path, head: list[int]) -> bool:
        import llama_cpp

        if not path.is_file():
            return False
        llama = self._llama
        llama._ctx.kv_cache_seq_rm(0, 0, -1)
        found = (llama_cpp.llama_token * len(head))()
        count = ctypes.c_size_t(0)
        read = llama_cpp.llama_state_seq_load_file(llama._ctx.ctx, os.fsencode(path), 0, found, len(head),
                                                   ctypes.byref(count))
        if not read or count.value != len(head) or list(found) != head:
            log.warning("dropping an unusable saved prompt state: %s", path)
            with contextlib.suppress(OSError):
                path.unlink()
            llama.reset()
            llama._ctx.kv_cache_seq_rm(0, 0, -1)
            return False
        self._hold(head)
        return True

    def _save(self, path: Path, head: list[int]) -> None:
        """Write the state beside the others, whole or not at all (a temporary file renamed into place)."""
        import llama_cpp

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            os.close(fd)
        except OSError as exc:
            log.info("prompt states are not saved (%s): each process reads its prompt's prefix", exc)
            self._folder = None
            return
        tokens = (llama_cpp.llama_token * len(head))(*head)
        try:
            if llama_cpp.llama_state_seq_save_file(self._llama._ctx.ctx, os.fsencode(tmp), 0, tokens, len(head)):
                os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _hold(self, head: list[int]) -> None:
        """Tell llama-cpp-python the context holds ``head`` (its prefix match compares against ``input_ids``)."""
        llama = self._llama
        llama.input_ids[: len(head)] = head
        llama.n_tokens = len(head)
        llama._requires_eval = True
