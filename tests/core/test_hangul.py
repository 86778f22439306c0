"""Hangul composed as a Korean patient taps the two-set keys (kiosk.domain.hangul)."""

from __future__ import annotations

import pytest

from kiosk.domain.hangul import LAYOUT, compose, is_jamo
from kiosk.domain.names import same_name


@pytest.mark.parametrize(("taps", "shown"), [
    ("ㄱㅣㅁ", "김"), ("ㅇㅣ", "이"), ("ㅂㅏㄱ", "박"), ("ㅈㅓㅇ", "정"), ("ㅊㅗㅣ", "최"),
    ("ㅁㅣㄴㅈㅜㄴ", "민준"), ("ㅅㅓㅇㅕㄴ", "서연"), ("ㅎㅗㅏㅇ", "황"), ("ㄲㅗㅊ", "꽃"),
    ("ㄱㅣㅁㅣ", "기미"),        # the final moves on when a vowel follows
    ("ㄷㅏㄹㄱ", "닭"), ("ㄷㅏㄹㄱㅣ", "달기"),  # a double final gives up only its second part
    ("ㄴㅏㅁㄱㅜㅇ", "남궁"), ("ㄱ", "ㄱ"), ("ㅏ", "ㅏ"), ("ㄱㄱ", "ㄱㄱ"), ("", ""),
])
def test_taps_compose_into_syllables(taps, shown):
    assert compose(list(taps)) == shown


def test_deleting_takes_back_the_last_letter_typed():
    taps = list("ㄱㅣㅁ")
    assert [compose(taps[:n]) for n in (3, 2, 1, 0)] == ["김", "기", "ㄱ", ""]


def test_every_key_of_the_layout_is_a_jamo_that_composes():
    keys = [key for row in LAYOUT for key in row]
    assert len(keys) == len(set(keys)) == 33
    assert all(is_jamo(key) for key in keys)
    for key in keys:  # alone and after a syllable, nothing raises
        compose(["ㄱ", "ㅏ", key])


def test_what_a_patient_composes_finds_a_record_kept_in_latin_letters():
    assert same_name(compose(list("ㄱㅣㅁ")), "Kim", family=True)
    assert same_name(compose(list("ㅂㅏㄱ")), "Park", family=True)


def test_a_letter_not_on_the_layout_is_refused():
    with pytest.raises(ValueError, match="not a jamo"):
        compose(["a"])
