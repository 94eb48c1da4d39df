"""Batch generation through an endpoint's batch API: upload, submit, wait, download, join.

The protocol is OpenAI's, which other providers copy: ``POST /v1/files`` (purpose ``batch``)
uploads the request file, ``POST /v1/batches`` (completion window ``24h``) submits it,
``GET /v1/batches/{id}`` is asked, less and less often, until the batch is completed, expired,
cancelled or failed, and ``GET /v1/files/{id}/content`` downloads its output and error files.
The results are joined to the planned samples by id (:mod:`groundset.generate.batch`).

A batch is paid for once. The state file beside the samples (``<stem>.batch.json``) records
the input file's id as soon as it is uploaded and the batch's id as soon as it is created; a run
that finds it picks that batch up, whatever interrupted the last one. A create whose answer was
lost (a timeout, a dropped connection) may still have made the batch, so it is never repeated
blindly: the batches made since the upload are listed, and one made from the same input file is
adopted. Once a batch's results are written the state file goes; the results are written once,
since a sample the files already hold is never asked for or written again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import openai
from openai.types import Batch

from groundset.errors import GenerationError, StateError, UsageError
from groundset.generate.batch import (
    URLS,
    BatchUrl,
    LineResult,
    join,
    request_line,
    results_in_text,
)
from groundset.generate.output import done_ids, rejected_path_for
from groundset.generate.passages import PassageSource
from groundset.generate.run import GenerateSummary, Generator, OutcomeWriter, Request
from groundset.generate.settings import GenerateSettings
from groundset.progress import Progress

__all__ = ["BatchApi", "BatchState", "batch_state_path", "generate_in_batch"]

#: Statuses after which a batch changes no more.
_DONE = {"completed", "failed", "expired", "cancelled"}


def batch_state_path(out: Path) -> Path:
    """Where the batch of ``out`` is recorded: ``s.jsonl`` -> ``s.batch.json``."""
    return out.with_name(f"{out.stem}.batch.json")


@dataclass
class BatchState:
    """The batch a samples file waits for: where it was sent, its input file, and its ids."""

    endpoint: str
    model: str
    input_file_id: str
    #: The input file's creation time on the endpoint's clock: no batch of it is older.
    uploaded_at: int
    custom_ids: list[str]
    batch_id: str | None = None

    @classmethod
    def load(cls, path: Path) -> BatchState | None:
        """The state in ``path``, or None when there is none.

        Raises:
            StateError: the file is not a batch state.
        """
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise StateError(
                f"the batch state {path} is damaged ({exc})",
                fix="look the batch up on the endpoint (its dashboard, or GET /v1/batches), "
                "then delete the file to generate anew",
            ) from None

    def save(self, path: Path) -> None:
        """Write the state whole or not at all."""
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(part, path)


class BatchApi:
    """The files and batches endpoints of one OpenAI-compatible endpoint.

    Args:
        base_url: the endpoint (``https://host/v1``).
        settings: the key, timeouts, retries and the waits between two looks at a batch.
    """

    def __init__(self, base_url: str, settings: GenerateSettings) -> None:
        self.base_url = base_url
        self.settings = settings
        # The openai client's own retries (backoff, Retry-After) suit these idempotent calls;
        # creating a batch is the one that is not, and goes without them (create).
        self._openai = openai.OpenAI(
            base_url=base_url,
            api_key=settings.api_key or "none",
            timeout=settings.timeout_s,
            max_retries=settings.retries,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._openai.close()

    def upload(self, lines: list[dict[str, Any]], name: str) -> tuple[str, int]:
        """Upload request lines as a batch input file; its id and creation time."""
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        with self._failures("upload the request file"):
            uploaded = self._openai.files.create(
                file=(name, data, "application/jsonl"), purpose="batch"
            )
        return uploaded.id, uploaded.created_at

    def submit(self, input_file_id: str, url: BatchUrl, since: int) -> str:
        """The batch of an input file: one made from it since ``since``, or a new one."""
        found = self.find(input_file_id, since)
        if found is not None:
            return found
        try:
            created = self._openai.with_options(max_retries=0).batches.create(
                input_file_id=input_file_id,
                endpoint=url,
                completion_window="24h",
            )
        except (openai.APIConnectionError, openai.InternalServerError) as exc:
            # The endpoint may have made the batch before the answer was lost.
            found = self.find(input_file_id, since)
            if found is not None:
                return found
            raise self._failure("create the batch", exc) from None
        except openai.OpenAIError as exc:
            raise self._failure("create the batch", exc) from None
        return created.id

    def find(self, input_file_id: str, since: int) -> str | None:
        """The id of a batch made from ``input_file_id``, looking back no further than
        ``since``; None when there is none."""
        with self._failures("list the batches"):
            for batch in self._openai.batches.list(limit=100):  # newest first, page by page
                if batch.input_file_id == input_file_id:
                    return batch.id
                if batch.created_at < since:
                    return None
        return None

    def wait(self, batch_id: str, progress: Progress) -> Batch:
        """Look at the batch until it is done (completed, failed, expired or cancelled),
        waiting ``batch_poll_s`` after the first look and twice as long after each next one,
        up to ``batch_max_poll_s``."""
        delay = self.settings.batch_poll_s
        while True:
            with self._failures(f"look at the batch {batch_id}"):
                batch = self._openai.batches.retrieve(batch_id)
            if batch.status in _DONE:
                return batch
            counts = batch.request_counts
            done = f" ({counts.completed + counts.failed}/{counts.total})" if counts else ""
            progress.update(f"batch {batch_id} {batch.status}{done}")
            time.sleep(delay)
            delay = min(delay * 2, self.settings.batch_max_poll_s)

    def content(self, file_id: str) -> str:
        """The text of a file on the endpoint (a batch's output or error file)."""
        with self._failures(f"download the file {file_id}"):
            return self._openai.files.content(file_id).text

    @contextlib.contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        try:
            yield
        except openai.OpenAIError as exc:
            raise self._failure(doing, exc) from None

    def _failure(self, doing: str, exc: openai.OpenAIError) -> GenerationError:
        """One line for a call that failed, with the fix its kind points to."""
        if isinstance(exc, openai.APIStatusError):
            problem = f"{exc.status_code}: {exc.message}"
            if exc.status_code in (401, 403):
                fix = "set OPENAI_API_KEY (or the api_key setting) to a valid key"
            elif exc.status_code in (404, 405):
                fix = (
                    "this endpoint has no batch API: generate without batch, or write the "
                    "request file (--write-requests) for vLLM's run_batch or `groundset "
                    "run-batch`"
                )
            else:
                fix = "run the same command again: it picks up the batch where it stands"
        else:
            problem = str(exc.__cause__ or exc)
            fix = "check that the endpoint is reachable, then run the same command again"
        return GenerationError(
            f"could not {doing} at {self.base_url} ({problem})", endpoint=self.base_url, fix=fix
        )


def generate_in_batch(
    generator: Generator,
    passages: PassageSource,
    out: Path,
    count: int,
) -> GenerateSummary:
    """Generate until ``out`` and its rejected file hold the ``count`` planned samples, through
    the endpoint's batch API.

    A run first finishes the batch the state file names, if any (waiting for it as long as it
    takes: interrupted, the same command picks it up); then, if samples are still missing, it
    submits one batch for them and waits for that. Samples a batch left unanswered are counted
    in the summary, and asked for by the next run.

    Raises:
        UsageError: the generator translates samples in calls of their own, or the state
            names a batch sent elsewhere or for other samples.
        GenerationError: the batch API fails or refuses, or the batch failed.
    """
    if generator.translator is not None:
        raise UsageError(
            "translate = after asks for each translation in a call of its own, which a batch "
            "cannot hold",
            fix='set [generate] translate = "direct", or generate without batch',
        )
    started = time.monotonic()
    todo, summary = generator.missing(passages, out, count)
    requests = {r.sample_id: r for r in map(generator.request, todo)}
    path = batch_state_path(out)
    state = BatchState.load(path)
    if state is not None:
        _check_pickup(state, path, generator, requests, out)
    api = BatchApi(generator.client.base_url, generator.settings)
    writer = OutcomeWriter(summary)
    progress = Progress(f"generate {generator.task.name}")
    try:
        if state is not None:
            _finish(api, state, path, generator, requests, writer, progress)
        if requests:
            lines = [request_line(generator, r) for r in requests.values()]
            file_id, uploaded_at = api.upload(lines, f"{out.stem}.batch-requests.jsonl")
            state = BatchState(
                endpoint=generator.client.base_url,
                model=generator.client.model,
                input_file_id=file_id,
                uploaded_at=uploaded_at,
                custom_ids=list(requests),
            )
            state.save(path)
            summary.unanswered = len(
                _finish(api, state, path, generator, requests, writer, progress)
            )
    finally:
        writer.close()
        progress.close()
        api.close()
    summary.cost = summary.usage.cost(*generator.settings.prices(batch=True))
    summary.elapsed_s = time.monotonic() - started
    return summary


def _check_pickup(
    state: BatchState, path: Path, generator: Generator, requests: dict[str, Request], out: Path
) -> None:
    """Refuse to pick up a batch sent to another endpoint, or for samples this run does not
    plan: its results would be lost, and a new batch paid for."""
    abandon = f"or delete {path} to abandon that batch (what it cost is spent)"
    if state.endpoint != generator.client.base_url:
        raise UsageError(
            f"the batch in {path} was sent to {state.endpoint}, not {generator.client.base_url}",
            fix=f"run with --llm-url {state.endpoint}, {abandon}",
        )
    known = set(requests) | done_ids(out) | done_ids(rejected_path_for(out))
    stray = [i for i in state.custom_ids if i not in known]
    if stray:
        raise UsageError(
            f"the batch in {path} asks for {len(stray)} samples that this run does not plan "
            "(another count, task, language, seed or settings)",
            fix=f"run with the arguments and settings it was submitted with, {abandon}",
        )


def _finish(
    api: BatchApi,
    state: BatchState,
    path: Path,
    generator: Generator,
    requests: dict[str, Request],
    writer: OutcomeWriter,
    progress: Progress,
) -> list[str]:
    """Wait for the state's batch, write its results, forget it; the ids it left unanswered.

    The requests it answered or refused leave ``requests``; those left unanswered stay.
    """
    if state.batch_id is None:
        state.batch_id = api.submit(state.input_file_id, URLS[generator.api], state.uploaded_at)
        state.save(path)
    batch = api.wait(state.batch_id, progress)
    if batch.status == "failed":
        path.unlink()  # a batch that failed as a whole was not run, nor paid for
        listed = (batch.errors.data if batch.errors else None) or []
        errors = "; ".join(e.message or e.code or "" for e in listed)[:500]
        raise GenerationError(
            f"the batch {batch.id} failed: {errors or 'no reason given'}",
            endpoint=api.base_url,
            fix="fix what the errors name, then run the same command again",
        )
    results: dict[str, LineResult] = {}
    for file_id in (batch.error_file_id, batch.output_file_id):  # answers win
        if file_id:
            results.update(results_in_text(api.content(file_id), generator.api, file_id))
    mine = [requests[i] for i in state.custom_ids if i in requests]
    try:
        unanswered = join(generator, mine, results, writer)
    except GenerationError:
        path.unlink()  # every request refused: nothing was paid, a new batch may be asked for
        raise
    for request in mine:
        if request.sample_id not in unanswered:
            del requests[request.sample_id]
    path.unlink()
    return unanswered
