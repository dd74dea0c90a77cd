import numpy as np
import pytest

from handwriting import alphabet
from handwriting.errors import HandwritingError, UnknownCharacterError


def test_alphabet_holds_the_promised_characters():
    for ch in "QXZqxz0123456789 .,;:!?'\"-()/&$%#@+":
        assert ch in alphabet.CHARACTERS
    assert len(set(alphabet.CHARACTERS)) == len(alphabet.CHARACTERS)
    assert alphabet.VOCABULARY_SIZE == len(alphabet.CHARACTERS) + 1


def test_encode_decode_round_trip_every_character():
    ids = alphabet.encode(alphabet.CHARACTERS)
    assert ids.dtype == np.int32
    assert ids.min() == 1 and ids.max() == len(alphabet.CHARACTERS)
    assert alphabet.decode(ids) == alphabet.CHARACTERS


def test_decode_drops_padding_and_rejects_out_of_range():
    assert alphabet.decode([alphabet.PAD_ID, 1, alphabet.PAD_ID]) == alphabet.CHARACTERS[0]
    with pytest.raises(ValueError):
        alphabet.decode([len(alphabet.CHARACTERS) + 1])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("\u201cQuoted\u201d \u2018text\u2019", "\"Quoted\" 'text'"),
        ("a\u2013b\u2014c", "a-b-c"),
        ("wait\u2026", "wait..."),
        ("non\u00a0breaking", "non breaking"),
        ("Cr\u00e8me br\u00fbl\u00e9e, na\u00efve \u00c5ngstr\u00f6m", "Creme brulee, naive Angstrom"),
        ("Stra\u00dfe \u0141\u00f3d\u017a \u00c6sop \u0153uvre", "Strasse Lodz AEsop oeuvre"),
    ],
)
def test_normalisation(raw, expected):
    assert alphabet.normalise(raw) == expected
    assert alphabet.decode(alphabet.encode(raw)) == expected


def test_unknown_characters_are_named_with_positions():
    with pytest.raises(UnknownCharacterError) as info:
        alphabet.encode("price: 5\u20ac \u4e2d")
    message = str(info.value)
    assert "'\u20ac' (U+20AC) at 8" in message
    assert "'\u4e2d' (U+4E2D) at 10" in message
    assert "\n" not in message


def test_normalisation_can_be_switched_off():
    with pytest.raises(UnknownCharacterError, match="normalisation"):
        alphabet.encode("caf\u00e9", normalise_text=False)
    assert alphabet.decode(alphabet.encode("cafe", normalise_text=False)) == "cafe"


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_an_error(text):
    with pytest.raises(HandwritingError, match="empty text"):
        alphabet.encode(text)


def test_saved_alphabet_is_checked():
    alphabet.check_alphabet_config(alphabet.alphabet_config())
    with pytest.raises(UnknownCharacterError):
        alphabet.check_alphabet_config({"version": 0, "characters": "abc"})
