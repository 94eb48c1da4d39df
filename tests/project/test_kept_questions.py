"""A project's verifier knows the questions of its kept samples, as run and refresh use it.

``sample_verifier`` builds the verifier that judges a round's new samples and re-verifies, on
refresh, the kept samples citing changed sections: it must embed questions with the index's own
embedder and remember every kept sample but those being re-verified, so that a question asked
again in other words is refused (or retired) as a repeat, like a MinHash duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from groundset.ground import Embedder, Index
from groundset.project import ProjectState, load_project
from groundset.project.rounds import sample_verifier
from groundset.records import Sample

from fixture_paths import fixture_path


def test_a_projects_verifier_refuses_a_kept_questions_paraphrase(
    make_project: Callable[..., Path], indexed_old: Path, embedder: Embedder, tmp_path: Path
) -> None:
    path = fixture_path("verification", "repeated_questions.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # "How can I create an endpoint for the root of my API?", then "How do I create ...".
    first, second = (dict(r["sample"], id=r["item"]) for r in rows[:2])
    project = load_project(make_project(tmp_path / "p", "http://127.0.0.1:9/"))
    paraphrase = Sample.model_validate(second)
    with ProjectState(project.dir) as state, Index.open(indexed_old, embedder=embedder) as index:
        state.add_samples([(first["id"], "qa", 1, "kept", [], first)])
        verifier = sample_verifier(project, index, state)
        assert verifier.repeats.active and len(verifier.repeats) == 1
        assert verifier.verify(paraphrase).reasons == ["repeated_question"]
        # Refresh re-verifies a kept sample against the others only.
        excluded = sample_verifier(project, index, state, frozenset({first["id"]}))
        assert len(excluded.repeats) == 0
        assert "repeated_question" not in excluded.verify(paraphrase).reasons
