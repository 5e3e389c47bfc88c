"""Scoring against gold labels: span P/R/F1 on presidio-research records, validator accuracy on
python-stdnum's lists, secrets P/R on detect-secrets' samples. Used by the tests and by
``benchmarks/pii_accuracy.py`` (which scores peers with the same functions)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

# presidio-research entity names -> thresher types (the ones thresher covers).
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "IP_ADDRESS": "IP_ADDRESS",
                  "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN"}

Spans = Iterable[tuple[str, int, int]]


@dataclass
class Scores:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def prf(self, kind: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[kind], self.fp[kind], self.fn[kind]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def load_presidio(path: str | Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def score_presidio(records: list[dict], detect: Callable[[str], Spans],
                   types: Iterable[str] = tuple(PRESIDIO_TYPES.values()),
                   predictions: list[list[tuple[str, int, int]]] | None = None) -> Scores:
    """A prediction is a true positive when it overlaps an unmatched gold span of the same type.

    Predictions of other types are ignored; ``predictions`` (one list per record) replaces calling
    ``detect`` (peers run in other processes).
    """
    want = set(types)
    sc = Scores()
    for i, rec in enumerate(records):
        text = rec["full_text"]
        gold = [(PRESIDIO_TYPES.get(s["entity_type"], s["entity_type"]), s["start_position"], s["end_position"])
                for s in rec["spans"]]
        pred = predictions[i] if predictions is not None else detect(text)
        used: set[int] = set()
        for kind, a, b in pred:
            if kind not in want:
                continue
            hit = next((j for j, (gk, ga, gb) in enumerate(gold)
                        if j not in used and gk == kind and ga < b and a < gb), None)
            if hit is None:
                sc.fp[kind] += 1
            else:
                used.add(hit)
                sc.tp[kind] += 1
        for j, (gk, _, _) in enumerate(gold):
            if gk in want and j not in used:
                sc.fn[gk] += 1
    return sc


def load_secrets_gold(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def score_secrets(gold: dict, found: Iterable[tuple[str, str]]) -> tuple[int, int, int, list, list]:
    """(tp, fp, fn, false positives, misses) over distinct (file, value) findings."""
    by_value = {(g["file"], g["secret"]) for g in gold["findings"] if g.get("match") != "file"}
    by_file = {g["file"] for g in gold["findings"] if g.get("match") == "file"}
    hit_values: set = set()
    hit_files: set = set()
    fps = []
    for f, v in set(found):
        if (f, v) in by_value:
            hit_values.add((f, v))
        elif f in by_file:
            hit_files.add(f)
        else:
            fps.append((f, v))
    tp = len(hit_values) + len(hit_files)
    misses = sorted(by_value - hit_values) + sorted((f, "<file>") for f in by_file - hit_files)
    return tp, len(fps), len(misses), sorted(fps), misses


def iban_lists(path: str | Path) -> list[tuple[str, bool]]:
    """(candidate, expected valid) from python-stdnum's IBAN doctest lists (labelled lists only, plus
    the Belgian list whose first 24 characters are IBANs of valid accounts)."""
    out: list[tuple[str, bool]] = []
    for lst in json.loads(Path(path).read_text()):
        if lst["test_file"] == "test_be_iban.doctest":
            out += [(x[:24].strip(), True) for x in lst["items"]]
        elif lst["items_expected_valid"] is not None and "check_country=False" not in lst["check"]:
            out += [(x, bool(lst["items_expected_valid"])) for x in lst["items"]]
    return out
