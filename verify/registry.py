"""Checkers by name, built from one typed set of options.

=============  ==========================================================  ===================
name           what decides                                                needs
=============  ==========================================================  ===================
``calibrated`` what the claim adds to its evidence, weighed by a logistic   nothing (default)
               model fitted on docs claims, WiCE and HaluEval
``lexical``    content-word coverage + number, term and negation checks    nothing
``overlap``    share of the claim's words found in the evidence            nothing (baseline)
``embedding``  cosine similarity to the closest evidence window            the bundled model
``nli``        entailment probability from a CrossEncoder                  ``nli_model``
``llm``        an LLM judge behind an OpenAI-compatible endpoint           ``llm_model``
``cascade``    calibrated, then nli and llm when configured (or the        as its stages
               stages named), each on the claims the one before doubts
=============  ==========================================================  ===================

More can be added with :func:`register_checker`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from groundset.errors import UsageError
from groundset.verify.base import Checker
from groundset.verify.calibrated import CalibratedChecker
from groundset.verify.cascade import CASCADE_BAND, CascadeChecker
from groundset.verify.crosslang import Translator, make_translator
from groundset.verify.embedding import EmbeddingChecker
from groundset.verify.lexical import LexicalChecker, WordOverlapChecker
from groundset.verify.llm_judge import LLMJudgeChecker
from groundset.verify.nli import NLIChecker
from groundset.verify.precision import threshold_for

__all__ = [
    "DEFAULT_CHECKER",
    "CheckerOptions",
    "available_checkers",
    "judge_models",
    "make_checker",
    "register_checker",
    "translator_for",
]


class CheckerOptions(BaseModel):
    """What the checkers can be told; each takes the options it needs and ignores the rest."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="override the default threshold: every checker scores a claim from 0 to 1",
    )
    min_precision: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="the least share of kept samples a careful reader keeps, as measured for "
        "the calibrated checker: groundset picks its threshold (verify/precision.py)",
    )
    embedder: str | None = Field(default=None, description="sentence-transformers name or path")
    nli_model: str | None = Field(default=None, description="CrossEncoder NLI name or path")
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_cache: Path | None = Field(default=None, description="SQLite file of the judge's answers")
    cascade: list[str] | None = Field(
        default=None, description="stages of the cascade; default calibrated, nli, llm"
    )
    band: float = Field(default=CASCADE_BAND, gt=0, le=0.5)
    translator_model: str | None = Field(
        default=None, description="model that reads other languages; default the bundled one"
    )
    translator_base_url: str | None = None
    translator_api_key: str | None = None
    translator_languages: list[str] | None = Field(
        default=None, description="languages the translator reads (BCP 47 tags)"
    )


CheckerFactory = Callable[[CheckerOptions], Checker]

#: The checker used when none is named.
DEFAULT_CHECKER = "calibrated"


def _with_threshold(options: CheckerOptions) -> dict[str, float]:
    return {} if options.threshold is None else {"threshold": options.threshold}


def _calibrated(options: CheckerOptions) -> Checker:
    if options.min_precision is None:
        return CalibratedChecker(threshold=options.threshold)
    if options.threshold is not None:
        raise UsageError(
            "both threshold and min_precision are set: min_precision chooses the threshold",
            fix="set one of them",
        )
    return CalibratedChecker(threshold=threshold_for(options.min_precision))


def _lexical(options: CheckerOptions) -> Checker:
    return LexicalChecker(**_with_threshold(options))


def _overlap(options: CheckerOptions) -> Checker:
    return WordOverlapChecker(**_with_threshold(options))


def _embedding(options: CheckerOptions) -> Checker:
    return EmbeddingChecker(options.embedder, **_with_threshold(options))


def _nli(options: CheckerOptions) -> Checker:
    if not options.nli_model:
        raise UsageError(
            "the nli checker needs a model", fix="pass --nli-model PATH (a CrossEncoder NLI model)"
        )
    return NLIChecker(options.nli_model, **_with_threshold(options))


def _llm(options: CheckerOptions) -> Checker:
    return LLMJudgeChecker(
        options.llm_model,
        base_url=options.llm_base_url,
        api_key=options.llm_api_key,
        cache_path=options.llm_cache,
        **_with_threshold(options),
    )


def _cascade(options: CheckerOptions) -> Checker:
    names = options.cascade
    if names is None:
        names = [DEFAULT_CHECKER]
        names += ["nli"] if options.nli_model else []
        names += ["llm"] if options.llm_model else []
    if "cascade" in names:
        raise UsageError("a cascade cannot contain itself", fix="name other checkers as stages")
    # A threshold override is the first stage's: the one the cascade's scores are on.
    first, *rest = names
    rest_options = options.model_copy(update={"threshold": None})
    stages = [make_checker(first, options)] + [make_checker(n, rest_options) for n in rest]
    return CascadeChecker(stages, band=options.band)


_REGISTRY: dict[str, CheckerFactory] = {
    "calibrated": _calibrated,
    "lexical": _lexical,
    "overlap": _overlap,
    "embedding": _embedding,
    "nli": _nli,
    "llm": _llm,
    "cascade": _cascade,
}


def register_checker(name: str, factory: CheckerFactory) -> None:
    """Make a checker available by ``name`` (replacing any of that name)."""
    _REGISTRY[name] = factory


def available_checkers() -> list[str]:
    """The names :func:`make_checker` accepts."""
    return sorted(_REGISTRY)


def make_checker(
    name: str = DEFAULT_CHECKER, options: CheckerOptions | None = None, **kwargs: object
) -> Checker:
    """Build the checker registered as ``name``.

    Args:
        name: a registered checker name (see :func:`available_checkers`).
        options: validated options; or give them as keyword arguments instead.
        **kwargs: fields of :class:`CheckerOptions`.

    Returns:
        The checker.

    Raises:
        UsageError: unknown name or option, or an option the checker needs is missing.
    """
    if name not in _REGISTRY:
        raise UsageError(
            f"unknown checker {name!r}", fix=f"choose one of {', '.join(available_checkers())}"
        )
    if options is None:
        try:
            options = CheckerOptions(**kwargs)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise UsageError(
                f"bad checker option {_first_error(exc)}",
                fix="see `groundset verify --help` for each option's values",
            ) from None
    if options.min_precision is not None and name != DEFAULT_CHECKER:
        raise UsageError(
            f"min_precision is measured for the {DEFAULT_CHECKER} checker only, not {name!r}",
            fix="measure yours on your own samples with groundset review, and set its threshold",
        )
    return _REGISTRY[name](options)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def translator_for(options: CheckerOptions) -> Translator:
    """The model that reads samples in other languages than their sources: the endpoint named
    by ``translator_base_url`` and ``translator_model``, else the LLM judge's endpoint when one
    is configured, else the bundled local model (``translator_model`` may name another bundled
    model). Nothing is started before it is needed."""
    if options.translator_base_url:
        base_url, model = options.translator_base_url, options.translator_model
        api_key = options.translator_api_key
    elif options.llm_base_url and options.llm_model and not options.translator_model:
        base_url, model, api_key = options.llm_base_url, options.llm_model, options.llm_api_key
    else:
        base_url, model, api_key = None, options.translator_model, None
    if base_url and not model:
        raise UsageError(
            "translator_base_url needs a model", fix="set translator_model to the model's name"
        )
    return make_translator(model, base_url, api_key, options.translator_languages)


def judge_models(checker: Checker) -> set[str]:
    """The model names of every LLM judge inside ``checker`` (a cascade's stages included)."""
    if isinstance(checker, LLMJudgeChecker):
        return {checker.model}
    if isinstance(checker, CascadeChecker):
        return set().union(*(judge_models(stage) for stage in checker.stages))
    return set()
