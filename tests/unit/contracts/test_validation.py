"""One test per semantic rule: the valid sample passes, the broken one names its field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from jamsos.contracts.catalog import record_names
from jamsos.contracts.errors import ContractError
from jamsos.contracts.validation import RULES, find_violations, validate
from tests.unit.contracts.samples import SAMPLE_NAMES, sample

pytestmark = pytest.mark.unit

INPUTS = (
    "MemberEnrolled",
    "MembershipTerminated",
    "ContributionPaid",
    "ContributionReversed",
    "AgentRegistered",
    "AgentStatusChanged",
    "BusinessDayClosed",
)


def _rejects(type_name: str, field: str, **changes: Any) -> ContractError:
    """Validate a sample with ``changes``; it must fail on ``field``."""
    with pytest.raises(ContractError) as err:
        validate(type_name, sample(type_name, **changes))
    assert err.value.error_type == "VALIDATION_ERROR"
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")
    return err.value


def test_every_record_type_has_rules() -> None:
    assert set(RULES) == set(record_names())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_valid_samples_pass(name: str) -> None:
    validate(name, sample(name))
    assert find_violations(name, sample(name)) == []


def test_unknown_type_is_unknown_schema() -> None:
    with pytest.raises(ContractError) as err:
        validate("MemberDeleted", {})
    assert err.value.error_type == "UNKNOWN_SCHEMA"


def test_full_name_is_accepted() -> None:
    validate("jamsos.v1.ContributionPaid", sample("ContributionPaid"))


# ---------------------------------------------------------------- common input fields


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("blank", ["", "   "])
def test_event_id_must_not_be_blank(name: str, blank: str) -> None:
    _rejects(name, "event_id", event_id=blank)


def test_event_id_need_not_be_a_uuid() -> None:
    validate("ContributionPaid", sample("ContributionPaid", event_id="bni-2019-000001"))


@pytest.mark.parametrize("name", INPUTS)
def test_source_must_not_be_blank(name: str) -> None:
    _rejects(name, "source", source="")


@pytest.mark.parametrize(
    "name", ["MemberEnrolled", "MembershipTerminated", "ContributionPaid", "ContributionReversed"]
)
def test_member_id_must_not_be_blank(name: str) -> None:
    _rejects(name, "member_id", member_id=" ")


@pytest.mark.parametrize("name", ["AgentRegistered", "AgentStatusChanged"])
def test_agent_id_must_not_be_blank(name: str) -> None:
    _rejects(name, "agent_id", agent_id="")


@pytest.mark.parametrize("name", ["ContributionPaid", "ContributionReversed"])
def test_payment_id_must_not_be_blank(name: str) -> None:
    _rejects(name, "payment_id", payment_id="")


@pytest.mark.parametrize("name", ["MemberEnrolled", "AgentRegistered"])
@pytest.mark.parametrize("field", ["branch_code", "region_code"])
def test_branch_and_region_must_not_be_blank(name: str, field: str) -> None:
    _rejects(name, field, **{field: ""})


# ---------------------------------------------------------------- MemberEnrolled


@pytest.mark.parametrize(
    "nik",
    [
        "517101234567890",
        "51710123456789012",
        "517101234567890X",
        "",
        "".join(chr(0xFF10 + int(d)) for d in "5171012345678901"),  # full-width digits
    ],
)
def test_nik_must_be_16_digits(nik: str) -> None:
    error = _rejects("MemberEnrolled", "nik", nik=nik)
    assert "16 digits" in str(error)
    if nik:
        assert nik not in str(error)  # personal data stays out of dead letters


def test_programmes_must_contain_jkk_and_jkm() -> None:
    error = _rejects("MemberEnrolled", "programmes", programmes=["JKK", "JHT"])
    assert "JKM" in str(error)
    _rejects("MemberEnrolled", "programmes", programmes=[])


def test_programmes_must_not_repeat() -> None:
    error = _rejects("MemberEnrolled", "programmes", programmes=["JKK", "JKM", "JKK"])
    assert str(error) == "programmes: repeats JKK"


@pytest.mark.parametrize("income", [0, -1])
def test_declared_income_must_be_positive(income: int) -> None:
    _rejects("MemberEnrolled", "declared_income", declared_income=income)


@pytest.mark.parametrize("employer", [None, "", "  "])
def test_pu_requires_employer(employer: str | None) -> None:
    error = _rejects("MemberEnrolled", "employer_id", segment="PU", employer_id=employer)
    assert str(error) == "employer_id: required for segment PU"


def test_pu_with_employer_passes() -> None:
    validate("MemberEnrolled", sample("MemberEnrolled", segment="PU", employer_id="EMP-9"))


def test_employer_id_when_given_must_not_be_blank() -> None:
    _rejects("MemberEnrolled", "employer_id", employer_id="")


def test_recruiting_agent_id_when_given_must_not_be_blank() -> None:
    _rejects("MemberEnrolled", "agent_id", agent_id="")
    validate("MemberEnrolled", sample("MemberEnrolled", agent_id=None))


# ---------------------------------------------------------------- contributions


@pytest.mark.parametrize("months", [0, 13, -1])
def test_months_must_be_1_to_12(months: int) -> None:
    error = _rejects("ContributionPaid", "months", months=months)
    assert str(error) == f"months: must be 1-12, got {months}"


@pytest.mark.parametrize("months", [1, 12])
def test_months_bounds_are_inclusive(months: int) -> None:
    validate("ContributionPaid", sample("ContributionPaid", months=months))


@pytest.mark.parametrize("amount", [0, -36000])
def test_amount_must_be_positive(amount: int) -> None:
    _rejects("ContributionPaid", "amount", amount=amount)


def test_collecting_agent_id_when_given_must_not_be_blank() -> None:
    _rejects("ContributionPaid", "collecting_agent_id", collecting_agent_id=" ")
    validate("ContributionPaid", sample("ContributionPaid", collecting_agent_id=None))


# ---------------------------------------------------------------- outputs


def test_change_id_must_not_be_blank() -> None:
    _rejects("MemberStatusChanged", "change_id", change_id="")


def test_nik_token_must_not_be_blank() -> None:
    _rejects("MemberStatusChanged", "nik_token", nik_token="")


@pytest.mark.parametrize("name", ["MemberStatusChanged", "LapseAlert"])
def test_arrears_months_is_never_negative(name: str) -> None:
    _rejects(name, "arrears_months", arrears_months=-1)


def test_exited_member_has_no_arrears() -> None:
    _rejects("MemberStatusChanged", "arrears_months", to_status="EXITED", arrears_months=2)
    validate(
        "MemberStatusChanged", sample("MemberStatusChanged", to_status="EXITED", arrears_months=0)
    )


@pytest.mark.parametrize("name", ["MemberStatusChanged", "LapseAlert"])
def test_paid_through_is_first_of_month(name: str) -> None:
    _rejects(name, "paid_through", paid_through=date(2019, 1, 31))
    validate(name, sample(name, paid_through=None))


def test_alert_id_must_not_be_blank() -> None:
    _rejects("LapseAlert", "alert_id", alert_id="")


def test_tally_id_must_not_be_blank() -> None:
    _rejects("AgentTally", "tally_id", tally_id="")


def test_recruits_by_status_add_up_to_total() -> None:
    error = _rejects("AgentTally", "recruits_total", recruits_total=11)
    assert "(10)" in str(error)


def test_recruit_counts_are_never_negative() -> None:
    _rejects("AgentTally", "recruits_new", recruits_new=-1, recruits_active=7)


def test_period_is_first_of_month() -> None:
    _rejects("AgentTally", "period", period=date(2019, 1, 12))
    validate("AgentTally", sample("AgentTally", period=None))


def test_payout_is_commission_plus_bonus() -> None:
    _rejects("AgentTally", "payout_amount", payout_amount=1)


def test_negative_commission_is_allowed() -> None:
    """A reversal takes commission back in its own period, which can go below zero."""
    validate(
        "AgentTally",
        sample("AgentTally", commission_amount=-5400, bonus_amount=0, payout_amount=-5400),
    )


@pytest.mark.parametrize(
    "field", ["new_recruits", "contribution_months", "bonus_amount", "version"]
)
def test_tally_counts_are_never_negative(field: str) -> None:
    changes: dict[str, Any] = {field: -1}
    if field == "bonus_amount":
        changes["payout_amount"] = 48_599
    _rejects("AgentTally", field, **changes)


@pytest.mark.parametrize(("field", "value"), [("topic", ""), ("partition", -1), ("offset", -1)])
def test_dead_letter_points_at_a_real_message(field: str, value: Any) -> None:
    _rejects("DeadLetter", field, **{field: value})


def test_dead_letter_error_type_must_not_be_blank() -> None:
    _rejects("DeadLetter", "error_type", error_type="")


# ---------------------------------------------------------------- reporting


def test_find_violations_reports_every_broken_rule() -> None:
    record = sample("ContributionPaid", months=0, amount=0, payment_id="")
    fields = [error.field for error in find_violations("ContributionPaid", record)]
    assert fields == ["payment_id", "months", "amount"]


def test_missing_field_is_reported_not_crashed() -> None:
    record = sample("ContributionPaid")
    del record["months"]
    with pytest.raises(ContractError, match="months: missing"):
        validate("ContributionPaid", record)
