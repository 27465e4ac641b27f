"""The factors of scored rows in a salesperson's words, one line per row: the CRM export's,
the served answer's and the app's."""

from __future__ import annotations

import pandas as pd

from codepro_leads.scoring.factor_texts import factors_in_words


def test_factors_in_words_join_each_rows_factors_in_rank_order():
    scored = pd.DataFrame(
        {
            "up_factor_1": ["first_platform_c=Level0", "city_tier=1", None],
            "up_factor_1_effect": [0.5, 0.2, None],
            "up_factor_2": ["referred_lead=1", None, None],
            "down_factor_1": ["total_leads_droppped=2", None, None],
        },
        index=[3, 5, 8],
    )
    assert factors_in_words(scored, "up").to_dict() == {
        3: "Platform: Level0; Referred by someone",
        5: "City tier: 1",
        8: "",
    }
    assert factors_in_words(scored, "down").tolist() == ["Leads dropped: 2", "", ""]
