"""False-positive filters for secrets: what BigCode and detect-secrets learned to throw away.

A candidate survives only if it is not a placeholder (``xxxx``, ``<your-key>``, ``${VAR}``,
"example"), not a UUID, a sequence, an id, a hash next to the word "sha", or a word-like string
(the gibberish test: English-looking strings are variable names and prose, not keys).
detect-secrets' own heuristic filters are called directly; its gibberish model (a character-bigram
table trained on RFCs that ships inside the package) is scored here without the extra package.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib.resources import files
from typing import Mapping

import orjson
from detect_secrets.filters import heuristic as ds

GIBBERISH_LIMIT = 3.7          # detect-secrets' default limit for its RFC model

# Values people write where a secret should go. Compared lower-case, after stripping quotes.
PLACEHOLDER_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "token", "key", "apikey", "api_key", "changeme",
    "change_me", "changeit", "example", "dummy", "test", "testing", "sample", "placeholder",
    "redacted", "removed", "hidden", "none", "null", "nil", "true", "false", "empty", "required",
    "optional", "string", "str", "value", "foo", "bar", "baz", "foobar", "admin", "root", "user",
    "username", "default", "secret_key", "mysecret", "my_secret", "mypassword", "my_password",
    "yourpassword", "your_password", "xxx", "todo", "fixme", "undefined", "env", "get", "set",
    "****", "12345", "123456", "1234",
})
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x+|\*+|\.+|-+|#+|_+|0+|\?+)$"                 # xxxx, ****, ....
    r"|^<[^>]*>$|^\{\{.*\}\}$|^\$\{.*\}$|^\$\(.*\)$|^%\(.*\)s$|^\$[A-Za-z_]\w*$|^%[A-Za-z_]\w*%$"
    r"|your[_\-\s]?(?:own[_\-\s]?)?(?:api|key|secret|token|password|pass)|(?:api|secret|access)[_\-]?key[_\-]?here"
    r"|example|dummy|sample|placeholder|redacted|changeme|insert[_\-]|replace[_\-]?(?:me|with)|fake"
    r"|^(?:test|demo)[_\-]|xxxx|\*\*\*\*"
)
_NAMES_A_SECRET = re.compile(r"(?i)pass(?:word|wd)?|secret|token|api_?key")
_REPEAT = re.compile(r"(.{1,4}?)\1{3,}")                    # TESTTESTTEST, abababab
_HASH_WORDS = re.compile(r"(?i)sha\d*|hash|md5|digest|checksum|integrity|fingerprint|commit|revision|fixes|revert"
                         r"|merge|cherry|git|\.\w{1,5}[\"']?\s*[:=,]")                # "file.dat": "<sha256>"
_INDIRECT = re.compile(r"^(?:[A-Za-z_][\w.]*\(.*\)?|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_][\w.]*)?"
                       r"|[A-Za-z_]\w*\[.*\]?|[A-Za-z_][\w.]*:[A-Za-z_][\w.]*)$")


@lru_cache(maxsize=1)
def _gibberish_model() -> tuple[frozenset[str], Mapping[str, Mapping[str, float]]]:
    raw = orjson.loads(files("detect_secrets.filters.gibberish").joinpath("rfc.model").read_bytes())
    table: dict[str, dict[str, float]] = {}
    for a, row in raw["counts"].items():
        total = float(sum(row.values()))
        table[a] = {b: -math.log(v / total) for b, v in row.items()}
    return frozenset(raw["charset"]), table


def gibberish_score(s: str) -> float:
    """Mean negative log bigram probability under detect-secrets' RFC model (higher = less word-like)."""
    charset, table = _gibberish_model()
    chars = [c for c in s.lower() if c in charset]
    if len(chars) < 2:
        return 0.0
    return sum(table[a][b] for a, b in zip(chars, chars[1:])) / (len(chars) - 1)


def is_word_like(s: str, limit: float = GIBBERISH_LIMIT) -> bool:
    """True for strings that read like words. Hex strings are undecidable (charset too small): False."""
    if not set(s) - set("0123456789abcdefABCDEF-"):
        return False
    return gibberish_score(s) <= limit


def is_placeholder(value: str, key: str = "") -> bool:
    v = value.strip().strip("'\"")
    low = v.lower()
    if len(v) < 4 or low in PLACEHOLDER_WORDS or _PLACEHOLDER.search(v):
        return True
    m = _REPEAT.search(v)
    if m and 2 * len(m.group()) >= len(v):
        return True                                          # TESTTESTTEST: mostly one repeated unit
    if key and low == key.lower().strip("'\"[]"):
        return True                                          # password = password
    if v[0] in "<{[(" or _NAMES_A_SECRET.search(v) and is_word_like(re.sub(r"\d", "", v)):
        return True                                          # markup, "my-pvk-password", "generatedpassword1"
    return ds.is_templated_secret(v) or ds.is_not_alphanumeric_string(v)


def is_elided(value: str) -> bool:
    """``...``, ``xxxx``, ``<key>``: a value left out on purpose (used for PEM bodies, which are words
    in test fixtures yet still keys)."""
    return bool(_PLACEHOLDER.match(value)) and len(value) < 64 and (
        value[0] in "<{$%*x.-#_?0X" or value.lower().startswith(("your", "insert", "replace")))


def is_reference(value: str, quoted: bool) -> bool:
    """``password = get_password()``, ``secret: self.secret``: a name for a value, not the value."""
    return not quoted and bool(_INDIRECT.match(value.strip()))


def is_hash_context(value: str, line: str) -> bool:
    """BigCode's hash filter: 32/40/64-character hex next to a word like sha, hash, md5 or commit."""
    if len(value) in (32, 40, 64) and not set(value) - set("0123456789abcdefABCDEF"):
        return bool(_HASH_WORDS.search(line))
    return False


def is_uuid(value: str) -> bool:
    return ds.is_potential_uuid(value)


def is_sequential(value: str) -> bool:
    return ds.is_sequential_string(value)


def is_id_string(value: str, line: str) -> bool:
    return ds.is_likely_id_string(value, line)


def is_lock_file(path: str | None) -> bool:
    return bool(path) and ds.is_lock_file(path)  # type: ignore[arg-type]
