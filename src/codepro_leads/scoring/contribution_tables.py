"""LightGBM's exact contributions (TreeSHAP) and raw scores, looked up instead of recomputed.

A tree's TreeSHAP vector depends on a row only through the tree's split decisions: for each
feature it splits on, the side of every split on that feature the value falls. So each tree
has a finite set of "cells" (one combination of decisions per feature), and at build time
LightGBM itself explains one representative row per cell, tree by tree
(``predict(..., pred_contrib=True, start_iteration=t, num_iteration=1)``). Scoring a row is
then a lookup per tree, summed in tree order as LightGBM sums: contributions equal its
``pred_contrib`` to rounding (~1e-16), raw scores are bit-identical to its ``raw_score``.

A value's cell per feature comes from a global class (numbers: the interval between the
thresholds of all trees, the band LightGBM reads as zero, and NaN; category
codes: each code some tree names, and any other code), which each tree maps to its own
decisions. The decision rules mirror LightGBM's ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision``. LightGBM itself explains, at scoring time, the trees with more
than ``max_cells`` cells and the rows with a NaN category code (which it converts to int in a
platform-dependent way; the encoder never produces one).

Building costs one TreeSHAP explanation per cell (seconds for a few hundred thousand cells), so
the built tables travel with the model (``state``, ``from_state``), stamped with a fingerprint
of the trees they were built from.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

# LightGBM's kZeroThreshold (a float literal in its source): its predictor reads any value
# within it of zero as 0.0.
_ZERO = float(np.float32(1e-35))
# Rows looked up at once: bounds the (trees x rows x features) gather to a few MB.
_BLOCK_ROWS = 2048
# Version of what ``ContributionTables.state`` returns: a state of another version is rebuilt.
_STATE_FORMAT = 1


class TablesMismatchError(ValueError):
    """Saved tables that were not built, in this format, from the booster at hand."""


def booster_fingerprint(booster: lgb.Booster) -> str:
    """sha256 of the booster's trees as LightGBM writes them (its parameters left out)."""
    trees = booster.model_to_string().partition("end of trees")[0]
    return hashlib.sha256(trees.encode()).hexdigest()


@dataclass(frozen=True)
class _Split:
    feature: int
    categorical: bool
    threshold: float  # numeric splits
    categories: frozenset[int]  # categorical splits: the codes that go left
    missing_type: str  # "None", "Zero" or "NaN"
    default_left: bool

    def goes_left(self, value: float) -> bool:
        if self.categorical:
            # A code is its value truncated to int; negative and huge values go right.
            if value <= -1 or value >= 2**31:
                return False
            return int(value) in self.categories
        if math.isnan(value) and self.missing_type != "NaN":
            value = 0.0
        if (self.missing_type == "Zero" and -_ZERO <= value <= _ZERO) or (
            self.missing_type == "NaN" and math.isnan(value)
        ):
            return self.default_left
        return value <= self.threshold


class _FeatureClasses:
    """One feature's global value classes over all trees, and a representative value each."""

    def __init__(self, splits: list[_Split]) -> None:
        self.categorical = any(split.categorical for split in splits)
        if self.categorical and not all(split.categorical for split in splits):
            raise ValueError("a feature split both as a category and as a number")
        if self.categorical:
            codes = np.array(sorted(set().union(*(split.categories for split in splits))), int)
            # Class i: code codes[i]; then any other code. (NaN codes are left to LightGBM.)
            self.code_class = np.full(codes.max() + 1, len(codes))
            self.code_class[codes] = np.arange(len(codes))
            self.representatives = [*codes.astype(float), -1.0]
            return
        self.thresholds = np.unique([split.threshold for split in splits])
        # Class i <= len(thresholds): values in (thresholds[i-1], thresholds[i]] outside the
        # zero band; then the zero band (LightGBM reads it as 0.0); then NaN.
        bounds = [-math.inf, *self.thresholds.tolist(), math.inf]
        self.representatives = [
            _inside(low, high) for low, high in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        self.representatives += [0.0, math.nan]

    def classify(self, values: np.ndarray) -> np.ndarray:
        """Each value's class (an index into ``representatives``)."""
        if self.categorical:
            codes = np.trunc(values)
            known = (codes >= 0) & (codes < len(self.code_class))  # False for NaN
            classes = np.full(len(values), len(self.representatives) - 1)  # any other code
            classes[known] = self.code_class[codes[known].astype(np.intp)]
            return classes
        classes = np.searchsorted(self.thresholds, values, side="left")
        classes[np.abs(values) <= _ZERO] = len(self.representatives) - 2
        classes[np.isnan(values)] = len(self.representatives) - 1
        return classes


def _inside(low: float, high: float) -> float:
    """A value in (low, high] outside the zero band (0.0 if none: the interval is unreachable)."""
    candidates = [high, np.nextafter(low, math.inf), low + 1.0, high - 1.0, -1.0, 1.0]
    inside = [float(v) for v in candidates if low < v <= high and math.isfinite(v)]
    return next((v for v in inside if abs(v) > _ZERO), 0.0)


class ContributionTables:
    """Per-tree lookup tables of a binary LightGBM booster's exact contributions and outputs."""

    def __init__(self, booster: lgb.Booster, max_cells: int = 50_000) -> None:
        if booster.num_model_per_iteration() != 1:
            raise ValueError("contribution tables need one tree per iteration")
        self.booster = booster
        self.fingerprint = booster_fingerprint(booster)
        self.n_features = booster.num_feature()
        dump = booster.dump_model()
        tree_splits = [_splits(tree["tree_structure"]) for tree in dump["tree_info"]]
        self.n_trees = len(tree_splits)
        by_feature: dict[int, list[_Split]] = {}
        for splits in tree_splits:
            for split in splits:
                by_feature.setdefault(split.feature, []).append(split)
        self.features = {f: _FeatureClasses(splits) for f, splits in sorted(by_feature.items())}
        # Per feature: (trees x global classes) -> the class's share of the tree's cell index.
        self.cell_part = {
            f: np.zeros((self.n_trees, len(c.representatives)), np.intp)
            for f, c in self.features.items()
        }
        self.offset = np.zeros(self.n_trees, np.intp)
        self.fallback_trees: list[int] = []  # trees LightGBM explains at scoring time
        self.categorical = [f for f, classes in self.features.items() if classes.categorical]
        contributions, outputs, n_cells = [], [], 0
        for tree, splits in enumerate(tree_splits):
            representatives = self._cells(tree, splits, max_cells)
            if representatives is None:
                self.fallback_trees.append(tree)
                continue
            one_tree = {"start_iteration": tree, "num_iteration": 1}
            contributions.append(booster.predict(representatives, pred_contrib=True, **one_tree))
            outputs.append(booster.predict(representatives, raw_score=True, **one_tree))
            self.offset[tree] = n_cells
            n_cells += len(representatives)
        self.contributions = np.concatenate([np.zeros((0, self.n_features + 1)), *contributions])
        self.outputs = np.concatenate([np.zeros(0), *outputs])

    def state(self) -> dict[str, Any]:
        """The built tables, for ``from_state``: everything but the booster (NumPy arrays and
        small lists; the booster travels with the model anyway)."""
        tables = {name: value for name, value in vars(self).items() if name != "booster"}
        return {"format": _STATE_FORMAT, **tables}

    @classmethod
    def from_state(cls, booster: lgb.Booster, state: dict[str, Any]) -> ContributionTables:
        """The tables ``state`` holds, for ``booster``, without rebuilding them.

        Raises ``TablesMismatchError`` when they were built from other trees or are of another
        format."""
        if state.get("format") != _STATE_FORMAT:
            raise TablesMismatchError(f"contribution tables of format {state.get('format')!r}")
        if state.get("fingerprint") != booster_fingerprint(booster):
            raise TablesMismatchError("contribution tables built from another booster")
        tables = cls.__new__(cls)
        vars(tables).update({name: v for name, v in state.items() if name != "format"})
        tables.booster = booster
        return tables

    @property
    def nbytes(self) -> int:
        parts = [self.contributions, self.outputs, *self.cell_part.values()]
        return sum(part.nbytes for part in parts)

    def _cells(self, tree: int, splits: list[_Split], max_cells: int) -> np.ndarray | None:
        """One representative row per cell of ``tree`` (None beyond ``max_cells`` cells), and
        the tree's columns of ``cell_part``."""
        features = sorted({split.feature for split in splits})
        local_values, local_of_class = [], {}
        for f in features:
            on_f = [split for split in splits if split.feature == f]
            decisions: dict[tuple, int] = {}
            values = []
            local = np.empty(len(self.features[f].representatives), np.intp)
            for g, value in enumerate(self.features[f].representatives):
                key = tuple(split.goes_left(value) for split in on_f)
                if key not in decisions:
                    decisions[key] = len(values)
                    values.append(value)
                local[g] = decisions[key]
            local_values.append(values)
            local_of_class[f] = local
        shape = tuple(len(values) for values in local_values)
        if math.prod(shape) > max_cells:
            return None
        strides = np.cumprod((1, *shape[::-1]))[-2::-1] if shape else np.zeros(0, np.intp)
        for f, stride in zip(features, strides, strict=True):
            self.cell_part[f][tree] = local_of_class[f] * stride
        cell_indices = np.unravel_index(np.arange(math.prod(shape)), shape) if shape else ()
        rows = np.zeros((math.prod(shape), self.n_features))
        for f, values, index in zip(features, local_values, cell_indices, strict=True):
            rows[:, f] = np.asarray(values)[index]
        return rows

    def explain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions (rows x features + bias, as LightGBM's ``pred_contrib``) and raw scores
        (as its ``raw_score``) of the rows of ``matrix``."""
        contributions = np.empty((len(matrix), self.n_features + 1))
        raw = np.empty(len(matrix))
        for start in range(0, len(matrix), _BLOCK_ROWS):
            block = slice(start, start + _BLOCK_ROWS)
            contributions[block], raw[block] = self._explain_block(matrix[block])
        nan_code = np.isnan(matrix[:, self.categorical]).any(axis=1)
        if nan_code.any():
            contributions[nan_code] = self.booster.predict(matrix[nan_code], pred_contrib=True)
            raw[nan_code] = self.booster.predict(matrix[nan_code], raw_score=True)
        return contributions, raw

    def _explain_block(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cell = np.broadcast_to(self.offset[:, None], (self.n_trees, len(matrix))).copy()
        for f, classes in self.features.items():
            cell += self.cell_part[f][:, classes.classify(matrix[:, f])]
        if len(self.outputs):
            per_tree = np.take(self.contributions, cell, axis=0)  # trees x rows x (features + 1)
            output = np.take(self.outputs, cell)
        else:
            per_tree = np.zeros((self.n_trees, len(matrix), self.n_features + 1))
            output = np.zeros((self.n_trees, len(matrix)))
        for tree in self.fallback_trees:
            one_tree: dict[str, Any] = {"start_iteration": tree, "num_iteration": 1}
            per_tree[tree] = self.booster.predict(matrix, pred_contrib=True, **one_tree)
            output[tree] = self.booster.predict(matrix, raw_score=True, **one_tree)
        # Tree after tree, as LightGBM adds them (np.add.accumulate would too, but far slower).
        contributions, raw = per_tree[0].copy(), output[0].copy()
        for tree in range(1, self.n_trees):
            contributions += per_tree[tree]
            raw += output[tree]
        return contributions, raw


def _splits(node: dict[str, Any]) -> list[_Split]:
    """The splits of one tree of ``Booster.dump_model``."""
    if "split_feature" not in node:
        return []
    categorical = node["decision_type"] == "=="
    split = _Split(
        feature=node["split_feature"],
        categorical=categorical,
        threshold=math.nan if categorical else float(node["threshold"]),
        categories=frozenset(int(c) for c in str(node["threshold"]).split("||"))
        if categorical
        else frozenset(),
        missing_type=node["missing_type"],
        default_left=node["default_left"],
    )
    return [split, *_splits(node["left_child"]), *_splits(node["right_child"])]
