"""LightGBM's exact contributions (TreeSHAP) and raw scores, looked up instead of recomputed.

A tree's TreeSHAP vector depends on a row only through the tree's split decisions: for each
feature it splits on, the side of every split on that feature the value falls. So each tree
has a finite set of "cells" (one combination of decisions per feature). At build time every
cell is explained with TreeSHAP's closed form per leaf (``_Grid.tree_shap``), and LightGBM
gives each cell's output (``predict(..., raw_score=True, start_iteration=t,
num_iteration=1)`` on one representative row per cell). Scoring a row is then a lookup per
tree, summed in tree order as LightGBM sums: contributions equal its ``pred_contrib`` to
rounding (~1e-16), raw scores are bit-identical to its ``raw_score``.

A value's cell per feature comes from a global class (numbers: the interval between the
thresholds of all trees, the band LightGBM reads as zero, and NaN; category
codes: each code some tree names, and any other code), which each tree maps to its own
decisions. The decision rules mirror LightGBM's ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision``. LightGBM itself explains, at scoring time, the trees with more
than ``max_cells`` cells and the rows with a NaN category code (which it converts to int in a
platform-dependent way; the encoder never produces one).

Building visits every cell once per leaf (under a second for a few hundred thousand cells), so
the built tables travel with the model (``state``, ``from_state``), stamped with a fingerprint
of the trees they were built from.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
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
            grid = self._cells(tree, splits, max_cells)
            if grid is None:
                self.fallback_trees.append(tree)
                continue
            contributions.append(grid.tree_shap(dump["tree_info"][tree]["tree_structure"]))
            one_tree = {"start_iteration": tree, "num_iteration": 1}
            outputs.append(booster.predict(grid.rows(), raw_score=True, **one_tree))
            self.offset[tree] = n_cells
            n_cells += grid.size
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

    def _cells(self, tree: int, splits: list[_Split], max_cells: int) -> _Grid | None:
        """The cells of ``tree`` (None beyond ``max_cells`` of them), and the tree's columns of
        ``cell_part``."""
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
        grid = _Grid(features, local_values, self.n_features)
        if grid.size > max_cells:
            return None
        strides = np.cumprod((1, *grid.shape[::-1]))[-2::-1] if features else np.zeros(0, np.intp)
        for f, stride in zip(features, strides, strict=True):
            self.cell_part[f][tree] = local_of_class[f] * stride
        return grid

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


def _split(node: dict[str, Any]) -> _Split:
    """The split of a node of ``Booster.dump_model``."""
    categorical = node["decision_type"] == "=="
    return _Split(
        feature=node["split_feature"],
        categorical=categorical,
        threshold=math.nan if categorical else float(node["threshold"]),
        categories=frozenset(int(c) for c in str(node["threshold"]).split("||"))
        if categorical
        else frozenset(),
        missing_type=node["missing_type"],
        default_left=node["default_left"],
    )


def _splits(node: dict[str, Any]) -> list[_Split]:
    """The splits of one tree of ``Booster.dump_model``."""
    if "split_feature" not in node:
        return []
    return [_split(node), *_splits(node["left_child"]), *_splits(node["right_child"])]


def _count(node: dict[str, Any]) -> int:
    return node["internal_count"] if "split_feature" in node else node["leaf_count"]


def _leaves(node: dict[str, Any], path: tuple = ()) -> Iterator[tuple[dict[str, Any], tuple]]:
    """Each leaf of a tree with its path: (node, went left, share of the node's training rows
    that went that way) from the root down."""
    if "split_feature" not in node:
        yield node, path
        return
    for side, went_left in (("left_child", True), ("right_child", False)):
        child = node[side]
        yield from _leaves(child, (*path, (node, went_left, _count(child) / _count(node))))


@cache
def _shapley_structure(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For d path features (bit b of a set: feature b): [S, j] j in S; [O, S] S within O;
    [S, j, i] j counted in S's product for feature i (j neither in S nor i); [S, i] the
    Shapley weight |S|! (d - |S| - 1)! / d! of S for i (0 when i is in S)."""
    sets = np.arange(2**d)
    member = ((sets[:, None] >> np.arange(d)) & 1).astype(bool)
    within = ((sets[None, :] & ~sets[:, None]) == 0).astype(float)
    counted = ~member[:, :, None] & ~np.eye(d, dtype=bool)[None, :, :]
    size = member.sum(axis=1)
    weights = [math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d) for k in range(d)]
    weight = np.where(member, 0.0, np.array(weights)[np.minimum(size, d - 1)][:, None])
    return member, within, counted, weight


def _leaf_terms(value: float, zero: np.ndarray) -> np.ndarray:
    """A leaf's term of each of its path features' Shapley values, for each set O of them that
    a row follows (row O; column i):

        v (o_i - z_i) sum over S within O without i of |S|! (d - |S| - 1)! / d! prod z_j

    the product over the path features j neither in S nor i; z_j: the share of training rows
    that followed the path at feature j's splits; d: the number of path features."""
    member, within, counted, weight = _shapley_structure(len(zero))
    products = np.where(counted, zero[None, :, None], 1.0).prod(axis=1)  # [S, i]
    return value * (member - zero) * (within @ (weight * products))


class _Grid:
    """A tree's cells: every combination of one local class per feature the tree splits on
    (C order over the features, sorted), each class standing for a value of it."""

    def __init__(self, features: list[int], local_values: list[list[float]], n_features: int):
        self.features, self.local_values, self.n_features = features, local_values, n_features
        self.shape = tuple(len(values) for values in local_values)
        self.size = math.prod(self.shape)

    def rows(self) -> np.ndarray:
        """One representative row per cell."""
        rows = np.zeros((self.size, self.n_features))
        indices = np.unravel_index(np.arange(self.size), self.shape) if self.shape else ()
        for f, values, index in zip(self.features, self.local_values, indices, strict=True):
            rows[:, f] = np.asarray(values)[index]
        return rows

    def tree_shap(self, tree: dict[str, Any]) -> np.ndarray:
        """LightGBM's TreeSHAP (``pred_contrib``) of ``tree`` for every cell: contributions per
        feature, then the tree's expected value.

        A leaf adds to each feature on its path a term that depends on a cell only through the
        path features whose splits the cell follows (``_leaf_terms``), so terms are worked out
        per class of those features and broadcast over the grid, one feature set at a time."""
        # Feature-major: each feature's terms are added to a contiguous block.
        grid = np.zeros((self.n_features + 1, *self.shape))
        if "split_feature" not in tree:  # a single leaf: no feature matters
            grid[-1] = tree["leaf_value"]
            return grid.reshape(-1, self.size).T
        leaves = list(_leaves(tree))
        # As LightGBM's Tree::ExpectedValue adds them: leaf by leaf, share of rows x output.
        expected = 0.0
        for leaf, _ in sorted(leaves, key=lambda item: item[0]["leaf_index"]):
            expected += leaf["leaf_count"] / _count(tree) * leaf["leaf_value"]
        grid[-1] = expected
        axis = {f: a for a, f in enumerate(self.features)}
        goes_left: dict[int, np.ndarray] = {}  # node -> per class of its feature
        by_features: dict[tuple[int, ...], np.ndarray] = {}
        for leaf, path in leaves:
            follows: dict[int, np.ndarray] = {}  # feature -> its classes that take the path
            zero: dict[int, float] = {}  # feature -> share of training rows that did
            for node, went_left, share in path:
                if id(node) not in goes_left:
                    split = _split(node)
                    values = self.local_values[axis[split.feature]]
                    goes_left[id(node)] = np.array([split.goes_left(v) for v in values])
                side = goes_left[id(node)] if went_left else ~goes_left[id(node)]
                f = node["split_feature"]
                follows[f] = follows[f] & side if f in follows else side
                zero[f] = zero.get(f, 1.0) * share
            features = tuple(sorted(follows))
            pattern = np.zeros([1] * len(self.shape), np.intp)
            for bit, f in enumerate(features):
                shape = [1] * len(self.shape)
                shape[axis[f]] = self.shape[axis[f]]
                pattern = pattern | (follows[f].astype(np.intp) << bit).reshape(shape)
            terms = _leaf_terms(leaf["leaf_value"], np.array([zero[f] for f in features]))
            if features in by_features:
                by_features[features] = by_features[features] + terms[pattern]
            else:
                by_features[features] = terms[pattern]
        for features, terms in by_features.items():
            for k, f in enumerate(features):
                grid[f] += terms[..., k]
        return grid.reshape(-1, self.size).T
