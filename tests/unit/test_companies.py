"""The unified social credit code (统一社会信用代码) and the company-name key."""

from __future__ import annotations

import pytest

from crm.exceptions import ValidationFailed
from crm.leads.companies import company_key, credit_code_check_char, is_valid_credit_code
from crm.leads.merging import validate_credit_code

PUBLISHED_EXAMPLE = "91350100M000100Y43"  # the example printed in many GB 32100 explanations

# Real-format codes (registration authority, type, region, organisation code) whose check
# character was worked out with the GB 32100-2015 weights.
VALID_CODES = [
    PUBLISHED_EXAMPLE,
    "91330100MA2CFH8L45",  # 杭州 company, MA… organisation code
    "91331100MA28H3QK5E",  # 丽水 company: the check character is a letter
    "91330000142916567N",  # 浙江 province-level company, old-style organisation code
    "52330100MJ87456320",  # 杭州 social organisation: weighted sum ≡ 0 (mod 31) → check "0"
    "11330000002482117U",  # a government body
]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_codes_pass_the_check_character(code):
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", VALID_CODES)
def test_any_other_check_character_is_refused(code):
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if wrong != code[17]:
            assert not is_valid_credit_code(code[:17] + wrong)


def test_a_typo_in_the_body_is_caught_by_the_check_character():
    typo = PUBLISHED_EXAMPLE[:10] + "2" + PUBLISHED_EXAMPLE[11:]  # …M000100… → …M000200…
    assert not is_valid_credit_code(typo)


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y4", "91350100M000100Y433", "", "9135010"],
    ids=["17-chars", "19-chars", "empty", "short"],
)
def test_wrong_length_is_refused(code):
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_letters_i_o_s_v_z_are_refused(letter):
    body = "91330100MA2CFH8" + letter
    # Even with a check character that would otherwise fit, the letter is not in the alphabet.
    assert not any(is_valid_credit_code(body + "0" + check) for check in "0123456789ABCDEFGHJ")
    with pytest.raises(ValidationFailed) as info:
        validate_credit_code(body + "0A")
    assert list(info.value.fields) == ["credit_code"]


def test_validate_credit_code_normalises_what_people_type():
    assert validate_credit_code(" 91350100m000100y43 ") == PUBLISHED_EXAMPLE
    # Full-width characters, as typed with a Chinese input method.
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == PUBLISHED_EXAMPLE
    assert validate_credit_code("9135 0100 M000 100Y 43") == PUBLISHED_EXAMPLE


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_validate_credit_code_leaves_blank_as_none(blank):
    assert validate_credit_code(blank) is None


@pytest.mark.parametrize(
    "text",
    ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100Y433", "91350100M0001-0Y43"],
    ids=["check-char", "too-short", "too-long", "punctuation"],
)
def test_validate_credit_code_refuses_invalid_codes_with_a_field_error(text):
    with pytest.raises(ValidationFailed) as info:
        validate_credit_code(text)
    assert info.value.status == 422
    assert info.value.fields["credit_code"] == [info.value.message]


def test_validate_credit_code_messages_say_what_is_wrong():
    messages = set()
    for text in ("91350100M000100Y4", "91350100M000100O43", "91350100M000100Y44"):
        with pytest.raises(ValidationFailed) as info:
            validate_credit_code(text)
        messages.add(info.value.message)
    assert len(messages) == 3  # length, alphabet and check character each have their own


@pytest.mark.parametrize(
    "name",
    [
        "浙江芯源半导体有限公司",
        "浙江芯源半导体股份有限公司",
        "浙江 芯源半导体（集团）",
        "浙江芯源半导体集团有限公司",
        "浙江芯源半导体(集团)股份有限公司",
        "  浙江芯源半导体有限责任公司 ",
        "浙江芯源半导体\u3000有限公司",
    ],
)
def test_company_names_differing_only_in_suffix_and_spaces_share_a_key(name):
    assert company_key(name) == "浙江芯源半导体"


def test_different_companies_keep_different_keys():
    assert company_key("浙江芯源半导体有限公司") != company_key("浙江芯源微电子有限公司")
    assert company_key("丽水芯源半导体有限公司") != company_key("浙江芯源半导体有限公司")


def test_company_key_of_english_names_ignores_case_and_legal_form():
    assert company_key("Xinyuan Semiconductor Co., Ltd.") == company_key("XINYUAN SEMICONDUCTOR")


def test_a_name_that_is_only_a_suffix_is_kept_rather_than_emptied():
    assert company_key("集团") == "集团"


@pytest.mark.parametrize("blank", [None, "", "   ", "（）"])
def test_company_key_of_a_blank_name_is_none(blank):
    assert company_key(blank) is None
