"""Calibrated answerability: one probability that the proposed text answer is right.

A logistic regression over the proposal's features (evidence support, sentence similarity, whether
the asked-for type is in the evidence, unknown names and terms, what the rule checks say, …),
fitted by ``eval/fit_answerability.py`` on the evaluation suite's dev documents and the dev question
sets, never on held-out documents. The coefficients live in ``answerability.json`` beside this file;
the threshold below which the bot says the document does not answer is a setting whose default is
``DEFAULT_THRESHOLD``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("answerability.json")
FEATURES = (
    "support", "lexical", "dense", "max_dense", "type_fit", "wants_type", "focus_unknown", "unknown_names",
    "unknown_terms", "uncovered_known", "key_terms", "rank", "rules_pass", "type_checkable", "type_entity",
)
# The direction each feature may push (more support can only help; an unknown name can only hurt).
# A fitted weight of the other sign is noise from small data: that feature is dropped and the model refitted.
SIGNS = {
    "support": +1, "lexical": +1, "dense": +1, "max_dense": 0, "type_fit": +1, "wants_type": 0, "focus_unknown": -1,
    "unknown_names": -1, "unknown_terms": -1, "uncovered_known": -1, "key_terms": 0, "rank": -1, "rules_pass": +1,
    "type_checkable": 0, "type_entity": +1,
}
# The threshold is chosen by eval/fit_answerability.py on the dev data (its "measured" note in
# answerability.json): the most right answers + right abstentions minus confidently wrong answers (a
# wrong answer costs what a right one gains), scored leave-one-document-out, among thresholds whose answered items
# are not confidently wrong at least TARGET_PRECISION of the time — or as often as the rule checks
# alone manage, when that is higher, so calibration never answers more recklessly than the rules did.
TARGET_PRECISION = 0.7
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class AnswerabilityModel:
    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float = DEFAULT_THRESHOLD
    measured: str = ""

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerabilityModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path.name} was fitted on other features; re-run eval/fit_answerability.py.")
        return cls(tuple(data["weights"]), data["bias"], tuple(data["means"]), tuple(data["scales"]),
                   data.get("threshold", DEFAULT_THRESHOLD), data.get("measured", ""))

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias
        for name, w, m, s in zip(FEATURES, self.weights, self.means, self.scales, strict=True):
            z += w * (features.get(name, 0.0) - m) / s
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(rows: list[dict[str, float]], labels: list[int], l2: float = 1.0) -> AnswerabilityModel:
    """Logistic regression whose weights keep the signs in ``SIGNS`` (features that disagree are dropped)."""
    active = set(FEATURES)
    while True:
        model = _fit(rows, labels, active, l2)
        wrong = {f for f, w in zip(FEATURES, model.weights, strict=True) if f in active and SIGNS[f] * w < 0}
        if not wrong:
            return model
        active -= wrong


def _fit(rows: list[dict[str, float]], labels: list[int], active: set[str], l2: float, iterations: int = 50) -> AnswerabilityModel:
    """L2-regularised logistic regression by Newton's method on standardised features (inactive ones weigh 0)."""
    x = np.array([[r.get(f, 0.0) if f in active else 0.0 for f in FEATURES] for r in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    reg = np.eye(z.shape[1]) * l2
    reg[0, 0] = 0.0  # no penalty on the bias
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg @ w
        hess = z.T @ (z * (p * (1 - p))[:, None]) + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return AnswerabilityModel(tuple(float(v) for v in w[1:]), float(w[0]), tuple(float(v) for v in means),
                              tuple(float(v) for v in scales))
