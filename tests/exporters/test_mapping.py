from __future__ import annotations

import pytest

from config.bas import bas_default_mapping_data
from exporters.core import MappingInvalid, parse_mapping


def test_bas_defaults_are_the_issue_s_accounts():
    mapping = parse_mapping(bas_default_mapping_data())
    assert mapping.payment_methods == {
        "cash": 1910,
        "card": 1580,
        "swish": 1930,
        "gift_card": 2421,
        "invoice": 1510,
    }
    assert mapping.revenue_by_vat_rate == {"25": 3001, "12": 3002, "6": 3003, "0": 3004}
    assert mapping.output_vat == {"25": 2611, "12": 2621, "6": 2631}
    assert (mapping.tips, mapping.rounding, mapping.cash_difference) == (2890, 3740, None)


def test_a_file_is_laid_over_the_defaults_and_null_removes_an_entry():
    mapping = parse_mapping(
        {"payment_methods": {"card": 1581, "invoice": None}, "product_groups": {"Lotter": 3004}},
        base=bas_default_mapping_data(),
    )
    assert mapping.payment_methods["card"] == 1581
    assert mapping.payment_methods["cash"] == 1910
    assert "invoice" not in mapping.payment_methods
    assert mapping.revenue_account("Lotter", "25") == 3004
    assert mapping.revenue_account("Annat", "12") == 3002


def test_group_rate_wins_over_group_any_rate_and_over_the_rate_default():
    mapping = parse_mapping(
        {"product_groups": {"Mat": {"12": 3051, "*": 3052}}}, base=bas_default_mapping_data()
    )
    assert mapping.revenue_account("Mat", "12") == 3051
    assert mapping.revenue_account("Mat", "6") == 3052
    assert mapping.revenue_account("Dryck", "6") == 3003


def test_every_problem_of_a_mapping_file_is_listed():
    with pytest.raises(MappingInvalid) as caught:
        parse_mapping(
            {
                "payment_methods": {"card": 99},
                "tips": "twenty",
                "cost_center_rules": {"3001": "SOMETIMES"},
                "colour": "blue",
            }
        )
    fields = {problem.field for problem in caught.value.problems}
    assert fields == {"payment_methods.card", "tips", "cost_center_rules.3001", "colour"}


def test_round_trip_of_the_file_form():
    mapping = parse_mapping(
        {"cost_center": "BUT1", "cost_center_rules": {"3001": "MANDATORY"}}, base=bas_default_mapping_data()
    )
    assert parse_mapping(mapping.to_dict()) == mapping
    assert 1910 in mapping.accounts() and 2890 in mapping.accounts()
