"""The local model behind llama.cpp's OpenAI-compatible server (llama-cpp-python).

Which model runs is :mod:`groundset.generate.local_models`' business: a bundled one by name,
assembled once into the user cache directory, or a GGUF file by path. A server that is already
running the same model (named by a state file in that directory and answering a health request)
is reused; one that :class:`LocalModelServer` started is stopped when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from groundset.errors import GenerationError
from groundset.generate.local_models import LocalModel, ensure_model_file, resolve_local_model

__all__ = ["LocalModelServer", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/groundset``, or ``~/.cache/groundset``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "groundset"


def _healthy(port: int, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=timeout_s) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalModelServer:
    """A llama.cpp server on 127.0.0.1 with a local model, as a context manager.

    Args:
        model: a bundled model's name or a GGUF file's path; the default model when None.
        cache_dir: where the model and the state file live; :func:`default_cache_dir` when None.
        port: the port to start on; a free one when None.
        threads: CPU threads for generation and prompt reading.
        n_ctx: the context size in tokens.
        repack: let llama.cpp repack weights (faster on some CPUs, crashes where AMX is denied).
        start_timeout_s: how long to wait for a new server to answer.

    Example::

        with LocalModelServer() as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="local")
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        cache_dir: Path | None = None,
        port: int | None = None,
        threads: int = 2,
        n_ctx: int = 4096,
        repack: bool = False,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self.spec: LocalModel = resolve_local_model(model)
        #: The GGUF file in use, once started.
        self.model_path: Path | None = None
        self.port = port
        self.threads = threads
        self.n_ctx = n_ctx
        self.repack = repack
        self.start_timeout_s = start_timeout_s
        #: The name the server answers to.
        self.model = self.spec.name
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``)."""
        if self.port is None:
            raise GenerationError("the local model server is not started", fix="use it in `with`")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def started_here(self) -> bool:
        """Whether this object started the server (and so stops it), rather than reusing one."""
        return self._process is not None

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Reuse a running server of the same model, or start one and wait until it answers.

        Raises:
            GenerationError: the model cannot be assembled, or the server does not come up.
        """
        model_path = ensure_model_file(self.spec, self.cache_dir)
        self.model_path = model_path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # The lock keeps two processes from both starting a server for the same cache dir.
        with (self.cache_dir / "server.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self._running(model_path)
            if running is not None:
                self.port = running
                return
            self._spawn(model_path)

    def _state_file(self) -> Path:
        # One per model, so that servers of two models can run side by side.
        return self.cache_dir / f"server-{self.model}.json"

    def _running(self, model_path: Path) -> int | None:
        try:
            state = json.loads(self._state_file().read_text())
        except (OSError, ValueError):
            return None
        port = state.get("port")
        same = state.get("model") == str(model_path) and state.get("n_ctx") == self.n_ctx
        # A server busy generating answers slowly: give it time before starting a second one.
        if same and isinstance(port, int) and self.port in (None, port) and _healthy(port, 10.0):
            return port
        return None

    def _spawn(self, model_path: Path) -> None:
        port = self.port or _free_port()
        args = [sys.executable, "-m", "groundset.generate.llama_launcher"]
        args += [] if self.repack else ["--no-repack"]
        args += ["--model", str(model_path), "--model_alias", self.model]
        args += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(self.n_ctx)]
        args += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        args += ["--verbose", "False"]
        log_path = self.cache_dir / f"server-{port}.log"
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + self.start_timeout_s
        while not _healthy(port, timeout_s=1.0):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._terminate()
                tail = log_path.read_text(errors="replace")[-500:].strip()
                raise GenerationError(
                    f"the local model server did not start: {tail or 'no output'}",
                    endpoint=f"http://127.0.0.1:{port}/v1",
                    fix=f"see {log_path}, or pass --llm-url to use another endpoint",
                )
            time.sleep(0.2)
        self.port = port
        state = {"pid": self._process.pid, "port": port, "model": str(model_path)}
        self._state_file().write_text(json.dumps({**state, "n_ctx": self.n_ctx}))

    def restart(self) -> None:
        """Start the server afresh on the same port, if this object started it.

        llama-cpp-python's server slows down over a long run of grammar-constrained requests
        (its memory grows with every grammar it builds); a fresh process is fast again.
        """
        if self._process is None or self.model_path is None:
            return
        self._terminate()
        self._spawn(self.model_path)

    def stop(self) -> None:
        """Stop the server if this object started it; a reused server keeps running."""
        if self._process is None:
            return
        pid = self._process.pid
        self._terminate()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(self._state_file().read_text()).get("pid") == pid:
                self._state_file().unlink()
        # The log is kept only when the server failed to start, to be read.
        (self.cache_dir / f"server-{self.port}.log").unlink(missing_ok=True)

    def _terminate(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
