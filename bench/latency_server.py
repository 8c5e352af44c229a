"""An OpenAI-compatible chat server with a fixed latency and no model, for concurrency benchmarks and tests.

    .venv/bin/python bench/latency_server.py --port 0 --latency 0.2 [--port-file PATH]
    .venv/bin/python bench/latency_server.py --port 0 --replay recorded.jsonl
    .venv/bin/python bench/latency_server.py --port 0 --record recorded.jsonl --upstream http://127.0.0.1:8080/v1

It binds 127.0.0.1 only and prints ``listening on http://127.0.0.1:PORT/v1`` as its first line of output.
Each ``POST /v1/chat/completions`` is answered ``--latency`` seconds after its body was read, in its own thread (so
concurrent requests overlap, as they would on a server batching them): the answer is made first and the thread
sleeps for the rest, so the time this server takes to build it (and to wait for the GIL among many threads) is not
added to the latency. The answer is:

- by default, :func:`summarizer.models.fake.extractive_answer` for the request: a valid summary built from the
  first sentences of the ``<article>`` in the last message;
- with ``--replay FILE``, the recorded response for the request's key (404 for an unknown one);
- with ``--record FILE --upstream URL``, whatever the upstream answers (no latency added), appending it to FILE;
  a request FILE already holds (asked before, or in an earlier recording) is answered from it, not forwarded.

Recordings are JSON lines ``{"key": ..., "response": {...}}``, the key being :func:`request_key`.
``POST /faults`` scripts faults: ``{"script": [...]}`` for the next requests in order ("ok" for a good answer),
``{"always": kind}`` for every request, ``{"rate": 0.2, "mix": [...], "seed": 1}`` for a random share of them;
the kinds are :data:`FAULTS` (HTTP 429/500/503, a reset connection, an answer later than the timeout, truncated or
cut-off JSON, JSON against the schema, fabricated or subtly altered quotes, no choices, a refusal, an HTML page with
status 200, raw control characters, code fences, prose around the JSON).
``--bodies FILE`` appends every chat request's body to FILE (what a client really sent).
``GET /stats`` shows ``{"requests", "in_flight", "max_in_flight"}`` (chat requests only); ``POST /stats/reset``
zeroes ``requests`` and ``max_in_flight``. ``GET /v1/models`` lists one model, ``latency``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from summarizer.models.base import ChatRequest
from summarizer.models.fake import extractive_answer


def request_key(body: dict[str, Any]) -> str:
    """The replay key of a chat request: what the answer depends on, the model and the messages."""
    payload = json.dumps({"model": body.get("model"), "messages": body["messages"]}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict(fmt["json_schema"]["schema"])
    if fmt.get("type") == "json_object" and "schema" in fmt:
        return dict(fmt["schema"])
    return {"properties": {"claims": {}}}


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    content = extractive_answer(ChatRequest(messages=tuple(body["messages"]), schema=_schema(body)))
    prompt = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model") or "latency",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": len(content) // 4,
                  "total_tokens": prompt + len(content) // 4},
    }


#: Extractive answers kept by request key (see :meth:`LatencyServer.answer`).
ANSWERS_KEPT = 4096

#: Faults the server can be scripted to answer with (``POST /faults``).
FAULTS = ("429", "500", "503", "reset", "late", "truncated", "length", "schema", "fabricated", "altered",
          "empty_choices", "refusal", "html200", "control", "fenced", "prose")
#: How long a "late" answer takes by default (``--slow``; clients set their timeout below it).
SLOW_S = 3.0
HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
            "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def _mangle(fault: str, content: str) -> tuple[str, str]:
    """A good answer made faulty: (content, finish_reason)."""
    if fault == "truncated":
        return content[: len(content) // 2], "stop"
    if fault == "length":
        return content[: len(content) // 2], "length"
    if fault == "schema":
        return json.dumps({"headline": "", "summary": "No claims here."}), "stop"
    answer = json.loads(content)
    if fault in ("fabricated", "altered"):
        for claim in answer.get("claims", []):
            claim["quotes"] = [_alter(q) if fault == "altered" else "A sentence that was never in the article at all."
                               for q in claim["quotes"]]
        return json.dumps(answer), "stop"
    if fault == "control":  # raw control characters inside strings, as some servers emit them
        text = json.dumps(answer, ensure_ascii=False)
        return text.replace('"headline": "', '"headline": "\t', 1).replace('"summary": "', '"summary": "\n', 1), "stop"
    if fault == "fenced":
        return f"```json\n{content}\n```", "stop"
    if fault == "prose":
        return f"Here is the summary you asked for:\n{content}\nLet me know if you need anything else.", "stop"
    raise ValueError(f"unknown fault {fault!r}")


def _alter(quote: str) -> str:
    """The quote subtly wrong: its first digit changed, else its first two words swapped."""
    for i, ch in enumerate(quote):
        if ch.isdigit():
            return quote[:i] + str((int(ch) + 1) % 10) + quote[i + 1 :]
    words = quote.split(" ")
    return " ".join([words[1], words[0], *words[2:]]) if len(words) > 1 else quote + " indeed"


class LatencyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, port: int, latency: float, replay: dict[str, Any] | None = None,
                 record: Path | None = None, upstream: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.latency, self.replay, self.record, self.upstream = latency, replay, record, upstream
        self.lock = threading.Lock()  # guards the counters, the fault script and the record file
        self.requests = self.in_flight = self.max_in_flight = 0
        self.script: list[str] = []  # faults for the next requests, in order ("ok" for a good answer)
        self.always: str | None = None
        self.rate, self.mix, self.random = 0.0, list(FAULTS), random.Random(0)
        self.slow = SLOW_S
        self.answers: dict[str, dict[str, Any]] = {}
        #: What a recording already holds (read back when recording resumes): asked again, answered from it.
        self.recorded: dict[str, Any] = load_replay(record) if record is not None and record.exists() else {}
        #: With ``--bodies FILE``: every chat request's body is appended there (one JSON line each).
        self.bodies: Path | None = None

    def next_fault(self) -> str:
        """What the next chat request gets: the script's next entry, else the standing fault, else by rate."""
        with self.lock:
            if self.script:
                return self.script.pop(0)
            if self.always:
                return self.always
            if self.rate and self.random.random() < self.rate:
                return self.random.choice(self.mix)
            return "ok"

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The extractive answer to ``body``, made once per request key (a remote server's CPU is not the client's:
        a benchmark primes this with one pass, so the timed passes measure the client and not this server)."""
        key = request_key(body)
        with self.lock:
            made = self.answers.get(key)
        if made is None:
            made = _completion(body)
            with self.lock:
                if len(self.answers) >= ANSWERS_KEPT:
                    self.answers.clear()
                self.answers[key] = made
        return {**made, "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time())}

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "in_flight": self.in_flight, "max_in_flight": self.max_in_flight}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: without this each answer waits ~40 ms
    server: LatencyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, *, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (killed, cancelled): nobody to tell
            self.close_connection = True

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"))

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind}})

    def do_GET(self) -> None:
        if self.path == "/stats":
            self._json(200, self.server.stats())
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "latency", "object": "model"}]})
        else:
            self._error(404, f"no such path: GET {self.path}", "not_found")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # always drain it, for keep-alive
        if self.path == "/stats/reset":
            with self.server.lock:
                self.server.requests = self.server.max_in_flight = 0
            self._json(200, self.server.stats())
        elif self.path == "/faults":
            self._set_faults(raw)
        elif self.path.split("?", 1)[0] != "/v1/chat/completions":  # a query (?api-version=…) is allowed
            self._error(404, f"no such path: POST {self.path}", "not_found")
        else:
            try:
                body = json.loads(raw)
                if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                    raise ValueError("the body must be a JSON object with a 'messages' list")
            except ValueError as e:
                self._error(400, f"bad request body: {e}", "invalid_request_error")
                return
            if body.get("stream"):
                self._error(400, "streaming is not supported", "invalid_request_error")
                return
            with self.server.lock:
                self.server.requests += 1
                self.server.in_flight += 1
                self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
            try:
                self._chat(body, raw)
            except Exception as e:  # an answer, not a dropped connection
                self._error(500, f"{type(e).__name__}: {e}", "server_error")
            finally:
                with self.server.lock:
                    self.server.in_flight -= 1

    def _set_faults(self, raw: bytes) -> None:
        try:
            spec = json.loads(raw or b"{}")
            unknown = {*spec.get("script", []), *([spec["always"]] if spec.get("always") else []),
                       *spec.get("mix", [])} - {*FAULTS, "ok"}
            if unknown:
                raise ValueError(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
        except (ValueError, AttributeError) as e:
            self._error(400, f"bad fault script: {e}", "invalid_request_error")
            return
        server = self.server
        with server.lock:
            server.script = list(spec.get("script", []))
            server.always = spec.get("always") or None
            server.rate = float(spec.get("rate", 0.0))
            server.mix = list(spec.get("mix") or FAULTS)
            server.random = random.Random(int(spec.get("seed", 0)))
        self._json(200, {"script": server.script, "always": server.always, "rate": server.rate})

    def _chat(self, body: dict[str, Any], raw: bytes) -> None:
        server = self.server
        if server.bodies is not None:
            with server.lock, server.bodies.open("a", encoding="utf-8") as f:
                f.write(json.dumps(body, sort_keys=True) + "\n")
        if server.upstream:
            self._forward(body, raw)
            return
        due = time.monotonic() + (server.slow if (fault := server.next_fault()) == "late" else server.latency)
        if fault not in ("ok", "late"):
            time.sleep(max(0.0, due - time.monotonic()))
            self._fault(fault, body)
            return
        if server.replay is None:
            status, answer = 200, server.answer(body)
        elif (response := server.replay.get(request_key(body))) is not None:
            status, answer = 200, response
        else:
            status, answer = 404, {"error": {"message": "no recorded response for this request", "type": "not_found"}}
        payload = json.dumps(answer).encode("utf-8")
        time.sleep(max(0.0, due - time.monotonic()))
        self._send(status, payload)

    def _fault(self, fault: str, body: dict[str, Any]) -> None:
        """Answer with one of :data:`FAULTS`."""
        if fault in ("429", "500", "503"):
            headers = {"Retry-After": "0.05"} if fault == "429" else {}
            self._send(int(fault), json.dumps({"error": {"message": f"injected {fault}", "type": "server_error"}})
                       .encode(), headers=headers)
        elif fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()  # RST, no answer
        elif fault == "html200":
            self._send(200, HTML_502.encode(), content_type="text/html")
        elif fault == "empty_choices":
            self._json(200, {**_completion(body), "choices": []})
        elif fault == "refusal":
            done = _completion(body)
            done["choices"][0]["message"] = {"role": "assistant", "content": None,
                                             "refusal": "I'm sorry, I can't help with that."}
            self._json(200, done)
        else:
            done = _completion(body)
            choice = done["choices"][0]
            choice["message"]["content"], finish = _mangle(fault, choice["message"]["content"])
            choice["finish_reason"] = finish
            self._json(200, done)

    def _forward(self, body: dict[str, Any], raw: bytes) -> None:
        server = self.server
        key = request_key(body)
        with server.lock:
            known = server.recorded.get(key)
        if known is not None:  # asked before: the recording already has it (a model at temperature 0 would repeat it)
            self._json(200, known)
            return
        headers = {"Content-Type": "application/json"}
        if auth := self.headers.get("Authorization"):
            headers["Authorization"] = auth
        request = urllib.request.Request(f"{server.upstream}/chat/completions", data=raw, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=600) as reply:
                payload = reply.read()
        except urllib.error.HTTPError as e:  # passed through as it came
            self._send(e.code, e.read())
            return
        except urllib.error.URLError as e:
            self._error(502, f"upstream unreachable: {e.reason}", "upstream_error")
            return
        if server.record is not None:
            answer = json.loads(payload)
            line = json.dumps({"key": key, "response": answer}) + "\n"
            with server.lock, server.record.open("a", encoding="utf-8") as f:
                f.write(line)
                server.recorded[key] = answer
        self._send(200, payload)


def spawn(*args: str, latency: float = 0.2, timeout: float = 60.0) -> tuple[subprocess.Popen[str], str]:
    """Start this server in a process of its own; return the process and its base URL (…/v1), read from its first
    line of output. Raises RuntimeError if it does not say it is listening within ``timeout`` seconds."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", "0", "--latency", str(latency),
                             *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout
    assert out is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(out.readline()), daemon=True)
    reader.start()
    reader.join(timeout=timeout)
    if not lines or not lines[0].startswith("listening on "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"latency server did not start: {lines!r}")
    return proc, lines[0].removeprefix("listening on ").strip()


def stats(base_url: str, reset: bool = False) -> dict[str, int]:
    """A running server's counters (requests, in_flight, max_in_flight); ``reset`` zeroes them after reading."""
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats", timeout=10) as response:
        counters: dict[str, int] = json.load(response)
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{root}/stats/reset", data=b"", method="POST"), timeout=10)
    return counters


def load_replay(path: Path) -> dict[str, Any]:
    records = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {r["key"]: r["response"] for r in records}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each chat request waits")
    parser.add_argument("--replay", type=Path, help="answer from this JSONL recording")
    parser.add_argument("--record", type=Path, help="append upstream answers to this JSONL file")
    parser.add_argument("--upstream", help="base URL (…/v1) to forward to when recording")
    parser.add_argument("--port-file", type=Path, help="also write the port here")
    parser.add_argument("--slow", type=float, default=SLOW_S, help="seconds a scripted late answer takes")
    parser.add_argument("--bodies", type=Path, help="append every chat request's body to this JSONL file")
    args = parser.parse_args(argv)
    if (args.record is None) != (args.upstream is None):
        parser.error("--record and --upstream go together")
    if args.replay and args.upstream:
        parser.error("--replay and --record are exclusive")
    replay = load_replay(args.replay) if args.replay else None
    upstream = args.upstream.rstrip("/") if args.upstream else None
    server = LatencyServer(args.port, args.latency, replay, args.record, upstream)
    server.slow = args.slow
    server.bodies = args.bodies
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(str(port), encoding="utf-8")
        tmp.replace(args.port_file)  # readers never see a half-written file
    print(f"listening on http://127.0.0.1:{port}/v1", flush=True)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
