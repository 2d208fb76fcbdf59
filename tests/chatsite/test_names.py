"""One identity key for names, and the names nobody may take (chatsite/core/names.py)."""

import pytest

from chatsite.core.names import MAX_KEY_LENGTH, name_key, name_problem


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Victim1", "victim1"),
        ("VICTIM1", "victim1"),
        ("\uff56\uff49\uff43\uff54\uff49\uff4d\uff11", "victim1"),  # fullwidth
        ("Stra\u00dfe", "STRASSE"),  # case folding beyond lower()
        ("\ufb01le", "file"),  # a ligature
        ("caf\u00e9", "cafe\u0301"),  # composed and decomposed
        ("bob  smith", "bob smith"),  # runs of spaces
        ("bob\u00a0smith", "bob smith"),  # a no-break space
        ("\u212bngstr\u00f6m", "\u00e5ngstr\u00f6m"),  # the Angstrom sign
    ],
)
def test_lookalikes_have_one_key(one, other):
    assert name_key(one) == name_key(other)


def test_ascii_names_keep_their_letters_lower_cased():
    assert name_key("Alice_B-1.x") == "alice_b-1.x"


@pytest.mark.parametrize(
    "name",
    [
        "victim1\u200b",  # zero-width space
        "vic\u200dtim",  # zero-width joiner
        "\u202evictim",  # right-to-left override
        "victim\u00ad",  # soft hyphen
        "victim\x07",  # a control character
        "victim\u2028",  # line separator
        "\u3164",  # Hangul filler: a letter that draws nothing
        "bob\ufe0f",  # a variation selector
        "\U000e0041bob",  # a tag character
    ],
)
def test_names_with_characters_that_show_nothing_are_refused(name):
    assert "invisible" in name_problem(name)


@pytest.mark.parametrize("name", ["\u0301\u0302", " ", "\u0301 \u0301"])
def test_names_of_marks_or_spaces_alone_are_refused(name):
    assert "must contain a letter" in name_problem(name)


def test_a_name_whose_key_outgrows_its_column_is_refused():
    assert "too long once normalised" in name_problem("\ufdfa" * 12)
    assert len(name_key("\ufdfa" * 11)) <= MAX_KEY_LENGTH
    assert name_problem("\ufdfa" * 11) is None


@pytest.mark.parametrize("name", ["alice", "Zo\u00eb", "\u674e\u96f7", "bob smith", "a.b-c_d", "\u00e9\u0301"])
def test_ordinary_names_are_fine(name):
    assert name_problem(name) is None
