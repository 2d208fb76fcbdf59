"""When two names are one: the identity key every place that keeps names unique compares.

Chat nicknames and usernames (both dialects) and signaling usernames are told apart by
`name_key`, never by their spelling: NFKC folds compatibility forms (fullwidth letters,
ligatures, superscripts) and case folding folds case beyond ASCII (`ß` and `ss`), so a
lookalike is the same name. Characters that show nothing are refused by `name_problem`
instead of folded away: a name with a zero-width space in it would otherwise look like a
name it is not equal to. Confusables across scripts (a Cyrillic a for a Latin one) are
not folded: docs/differences.md says why.
"""

import unicodedata

# A name as its speaker spells it (a chat nickname or nane username, a signaling
# username) has at most this many characters: the apps' rules and columns share it.
MAX_NAME_LENGTH = 50
# Keys are stored in columns of this many characters. NFKC can make one character many
# (U+FDFA becomes 18), so a name within its length limit can still have a longer key.
MAX_KEY_LENGTH = 200

# Controls, format characters (zero-width space and joiners, bidi marks and overrides,
# soft hyphen, tags), line and paragraph separators, private use, unassigned, surrogates.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})
# Unicode's default-ignorable or blank code points outside those categories: Hangul
# fillers, the braille blank, the combining grapheme joiner, Khmer inherent vowels,
# Mongolian and other variation selectors. Each renders as nothing, or as a blank.
INVISIBLE_CODE_POINTS = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
# A name needs one character of these (letter, number, punctuation, symbol): marks or
# spaces alone draw nothing one can read.
VISIBLE_CLASSES = frozenset("LNPS")


def name_key(name):
    """The identity of a name: NFKC, case folded, NFKC again, runs of spaces as one space."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def name_problem(name, field="name"):
    """Why `name` cannot be anybody's name, or None: a character that shows nothing, or too long a key."""
    for character in name:
        if unicodedata.category(character) in INVISIBLE_CATEGORIES or ord(character) in INVISIBLE_CODE_POINTS:
            return f"{field} must not contain invisible or control characters (U+{ord(character):04X})"
    if not any(unicodedata.category(character)[0] in VISIBLE_CLASSES for character in name):
        return f"{field} must contain a letter, digit, punctuation mark or symbol"
    if len(name_key(name)) > MAX_KEY_LENGTH:
        return f"{field} is too long once normalised (at most {MAX_KEY_LENGTH} characters)"
    return None
