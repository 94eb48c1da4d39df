"""How the ``false_premise`` check decides that a section contradicts a premise, measured.

The verifier refuses a ``false_premise`` sample (``premise_not_contradicted``) unless its question
carries its premise and the cited section contradicts it (``verify/premise.py``). The labelled
cases below are written by hand from sections of two fixture sites (DRF and the mdBook guide),
each a premise and a question that takes it for granted:

- **contradicted**: the section states another value, name or yes/no (kept);
- **true**: the section states the premise itself (refused);
- **unrelated**: the section is on the premise's subject, or near it, and says nothing of it
  (refused).

Printed per case: whether the question carries the premise, the share of its words in the
section, the
default checker's support score and reasons (``conflict`` when one names a number, negation or
name), and the reader model's probability that the section states the premise (asked of every
case here, whatever the other measures say, so that each signal can be judged alone); then, per
reader threshold, the cases of each label that the whole check holds contradicted.

Measured with the bundled 1.5B reader (``verify/premise.py`` says why it is asked whether the
section states the premise, not whether it contradicts it): at 0.3, 6 of 8 contradicted cases
kept (the two lost, a wrong "does not" and a wrong default name, are ones the checker finds
merely unsupported), 0 of 7 true and 0 of 4 unrelated. The reader read the contradicted premises
0.05-0.47 and the true ones 0.30-0.94; the one true premise that reached it ("mdBook's default
404 output file is `404.html`", 0.30, the checker missing a term) is now refused before it too,
its question lacking "mdBook", so the threshold rests on that one reading: labels should move it.

    python benchmarks/false_premise_check.py --work /tmp/fp/corpora [--reader MODEL]

``--work`` holds the indexed corpora ``drf`` and ``mdbook-guide`` (``benchmarks/kept_set.py
corpora``, or a copy of them).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from groundset.ground import Index
from groundset.verify import make_checker
from groundset.verify.answerable import question_coverage
from groundset.verify.crosslang import make_translator
from groundset.verify.premise import PremiseScores, carries
from groundset.verify.section_reader import StatementReader


@dataclass(frozen=True)
class Case:
    """A premise, a question built on it, the section it is checked against, and its label."""

    site: str
    heading: str
    premise: str
    question: str
    label: str  # contradicted, true or unrelated


PAGE_SIZE = "Settings > API Reference > Generic view settings > PAGE_SIZE"
FORMAT = "Settings > API Reference > Content type controls > URL_FORMAT_OVERRIDE"
PROXIES = "Settings > API Reference > Miscellaneous settings > NUM_PROXIES"
CACHE = "Throttling > Setting up the cache"
STYLE = "Pagination > Setting the pagination style"
SERVER = "The serve command > Server options"
NOT_FOUND = "Running mdbook in continuous integration > Deploying > 404 handling"
WATCHER = "The watch command > --watcher"

CASES = (
    Case("drf", PAGE_SIZE, "The default `PAGE_SIZE` is 50.",
         "Since the default PAGE_SIZE is 50, how do I lower it for one view?", "contradicted"),
    Case("drf", PAGE_SIZE, "If `PAGE_SIZE` is set to `None`, pagination is disabled.",
         "Since pagination is disabled when PAGE_SIZE is set to None, how do I turn it on?",
         "true"),
    Case("drf", PAGE_SIZE, "`PAGE_SIZE` also limits the number of nested objects serialized.",
         "Since PAGE_SIZE also limits the number of nested objects serialized, how do I raise "
         "that limit?", "unrelated"),
    Case("drf", FORMAT, "The default `URL_FORMAT_OVERRIDE` parameter is `fmt`.",
         "Since the default URL_FORMAT_OVERRIDE parameter is fmt, how do I request CSV?",
         "contradicted"),
    Case("drf", FORMAT, "Setting `URL_FORMAT_OVERRIDE` to `None` disables URL format overrides.",
         "Since setting URL_FORMAT_OVERRIDE to None disables URL format overrides, what does a "
         "format query parameter do then?", "true"),
    Case("drf", PROXIES, "`NUM_PROXIES` defaults to 1.",
         "Given that NUM_PROXIES defaults to 1, what should I set behind two load balancers?",
         "contradicted"),
    Case("drf", PROXIES, "`NUM_PROXIES` must be set when token authentication is used.",
         "Since NUM_PROXIES must be set when token authentication is used, what value do I "
         "choose?", "unrelated"),
    Case("drf", CACHE, "The throttle classes provided by REST framework do not use Django's "
         "cache backend.", "Since REST framework's throttle classes do not use Django's cache "
         "backend, where do they keep their counts?", "contradicted"),
    Case("drf", CACHE, "The throttle classes provided by REST framework use Django's cache "
         "backend.", "Since the throttle classes use Django's cache backend, which cache "
         "settings should I choose?", "true"),
    Case("drf", CACHE, "The throttle classes require a running Celery worker.",
         "Since the throttle classes require a running Celery worker, how do I start one?",
         "unrelated"),
    Case("drf", STYLE, "`DEFAULT_PAGINATION_CLASS` is `PageNumberPagination` by default.",
         "Since DEFAULT_PAGINATION_CLASS is PageNumberPagination by default, how do I switch to "
         "limit/offset pagination?", "contradicted"),
    Case("drf", STYLE, "The pagination class can be set on an individual view with the "
         "`pagination_class` attribute.", "Since the pagination class can be set on an individual "
         "view with the pagination_class attribute, can I also set the page size there?", "true"),
    Case("mdbook-guide", SERVER, "The `serve` port defaults to `8080`.",
         "Since the serve port defaults to 8080, how do I move it to 3000?", "contradicted"),
    Case("mdbook-guide", SERVER, "The `serve` hostname defaults to `localhost`.",
         "Since the serve hostname defaults to localhost, how do I make the book reachable "
         "from another machine?", "true"),
    Case("mdbook-guide", SERVER, "The `serve` command uses HTTPS with a self-signed certificate.",
         "Since the serve command uses HTTPS with a self-signed certificate, how do I trust it "
         "in my browser?", "unrelated"),
    Case("mdbook-guide", NOT_FOUND, "mdBook does not generate a 404 page.",
         "Since mdBook does not generate a 404 page, how do I add one for broken links?",
         "contradicted"),
    Case("mdbook-guide", NOT_FOUND, "mdBook's default 404 output file is `404.html`.",
         "Since the default 404 output file is 404.html, how do I rename it?", "true"),
    Case("mdbook-guide", WATCHER, "The `native` watcher is the default backend.",
         "Since the native watcher is the default backend, how do I switch to polling?",
         "contradicted"),
    Case("mdbook-guide", WATCHER, "The `poll` watcher scans the filesystem every second.",
         "Since the poll watcher scans the filesystem every second, can I make it scan less "
         "often?", "true"),
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder of indexed corpora")
    parser.add_argument("--reader", default=None, help="bundled reader model (default 1.5B)")
    parser.add_argument("--out", type=Path, default=None, help="write the scores here (JSON)")
    args = parser.parse_args()
    checker = make_checker("calibrated")
    reader = StatementReader(make_translator(args.reader))
    rows = []
    try:
        for site in sorted({c.site for c in CASES}):
            with Index.open(args.work / site) as index:
                sections = {c.heading_path: c.text for c in index.chunks()}
            for case in (c for c in CASES if c.site == site):
                section = sections[case.heading]
                (support,) = checker.check([(case.premise, section)])
                (p,) = reader.states([(case.premise, section)])
                rows.append({**asdict(case),
                             "carried": carries(case.premise, case.question),
                             "in_section": question_coverage(case.premise, section),
                             "support": support.score, "supported": support.supported,
                             "reasons": list(support.reasons), "states": p})  # fmt: skip
    finally:
        reader.translator.close()
    scores = [
        PremiseScores(r["carried"], r["in_section"], r["support"],
                      () if r["supported"] else tuple(r["reasons"]), r["states"])
        for r in rows
    ]  # fmt: skip
    for r, found in zip(rows, scores, strict=True):
        print(f"{r['label']:12} q={r['carried']:d} s={r['in_section']:.2f} "
              f"sup={r['support']:.3f}{'*' if r['supported'] else ' '} "
              f"{'conflict' if found.conflict else '        '} p={r['states']:.3f}  "
              f"{r['premise']}")  # fmt: skip
    for threshold in (0.2, 0.25, 0.3, 0.4, 0.5, 0.6):
        kept = {label: 0 for label in ("contradicted", "true", "unrelated")}
        for r, found in zip(rows, scores, strict=True):
            kept[r["label"]] += found.on_subject and found.conflict and r["states"] < threshold
        total = {label: sum(r["label"] == label for r in rows) for label in kept}
        print(f"threshold {threshold}: " + ", ".join(
            f"{label} kept {kept[label]}/{total[label]}" for label in kept))  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
