"""The app's tables in words: the challenger's differences."""

from __future__ import annotations

from codepro_leads.app import tables

HEADLINE = {"test_roc_auc": "ROC AUC", "test_precision": "Precision", "test_recall": "Recall"}


def test_the_challenger_is_compared_only_where_its_shown_figures_differ():
    champion = {"test_roc_auc": 0.80213, "test_precision": 0.6931, "test_recall": 0.7722}
    challenger = {"test_roc_auc": 0.80248, "test_precision": 0.6931, "test_recall": 0.7689}
    compared = tables.compared_metrics(champion, challenger, HEADLINE)
    assert compared["metric"].tolist() == ["Recall"]
    assert compared["challenger"].tolist() == [0.769]
    assert compared["difference"].tolist() == [-0.003]


def test_a_challenger_with_the_same_figures_has_nothing_to_compare():
    same = {"test_roc_auc": 0.8021, "test_precision": 0.6931, "test_recall": 0.7722}
    assert tables.compared_metrics(same, dict(same), HEADLINE).empty


def test_bare_counts_in_a_note_get_thousands_separators():
    note = (
        "test AUC 0.8020 vs champion v1 0.8020 on 47855 test leads created 2021-12-31 02:56:38 "
        "to 2022-02-14 23:57:56; 1200 rows, 999 kept, 12,345 before"
    )
    assert tables.counts_formatted(note) == (
        "test AUC 0.8020 vs champion v1 0.8020 on 47,855 test leads created 2021-12-31 02:56:38 "
        "to 2022-02-14 23:57:56; 1,200 rows, 999 kept, 12,345 before"
    )
