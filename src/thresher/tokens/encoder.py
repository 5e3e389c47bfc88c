"""The packing encoder: tiktoken's BPE built from a byte-level BPE ``tokenizer.json``, used only where it
gives the very ids Hugging Face ``tokenizers`` gives; otherwise ``tokenizers`` itself, with the reason.

tiktoken encodes with our tokenizers in 4-5x less CPU time than ``tokenizers``, and its algorithm is the same
byte-level BPE: split the text with a regex, then in each piece merge adjacent parts, lowest rank first
(leftmost on a tie). The two differ only in what ranks a merge: ``tokenizers`` ranks a *pair* by its
place in the merge list and merges listed pairs only; tiktoken ranks the *concatenated bytes* by their
token id, and takes a piece that is a whole token as that token without merging. The conversion is exact
when (checked by :func:`convert`, each a one-line reason when it fails):

1. the pre-tokenizer is one tiktoken can run: thresher's ``Split(PATTERN, isolated)`` + ``ByteLevel``
   without its own regex, or GPT-2's ``ByteLevel`` with its regex (tiktoken's r50k pattern); no
   normaliser; the model a plain BPE (no dropout, prefixes, suffixes, byte fallback or ignore_merges);
   every added token special (packing reads special-token text as text, as ``encode_ordinary`` does);
   every byte has a token;
2. tiktoken gets only the tokens ``tokenizers``' BPE makes of their own bytes (R): any other token (a
   special token's text, a merge result BPE never reaches) can never come out of ``tokenizers``, nor
   sit inside its merging, since a part of a word merges exactly as that part alone would;
3. the merges that make tokens of R make them in strictly increasing id order, so "lowest place in
   the merge list" and "lowest id of the concatenation" pick the same pair.

Then both run alike: a piece that is a token of R gives it in both (2); and two parts side by side whose
bytes are a token t of R are a listed merge, since their span alone merges to t through that very state
(2), so tiktoken's candidate pairs are ``tokenizers``' (those that can fire), ranked alike (3).

The regex is run by different engines (Oniguruma in ``tokenizers``, fancy-regex in tiktoken), whose
Unicode tables could differ; :func:`probe` encodes a fixed multilingual text (the shipped UDHR in 34
languages and edge cases: digits and spaces of many scripts, marks, contractions, code) both ways
before a run, and ``tests/test_tokens_encoder.py`` checks every code point.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("thresher")

# GPT-2's ByteLevel regex as ``tokenizers`` writes it (the same as tiktoken's r50k_base pattern)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
PROBE_CHARS = 2000          # of each UDHR language, in the start-up probe
EDGE_CASES = [
    "It's they'll we've I'm you'd she's 'quoted' don't CAN'T",
    "digits 1234567890 ١٢٣٤ ४५६ ๓๔ 一二三 ½ ² Ⅻ 3.14159e-10 0xFF_FF",
    "tabs\tand\r\nCRLF  double  spaces \u00a0nbsp\u2009thin\u3000ideographic\u2028line\u2029para\u0085nel\u000b\u000c end ",
    "   leading and trailing   \n\n\n    indented\n\t\t tabbed \n",
    "combining e\u0301 vs \u00e9, Hangul 한국어, Thai ภาษาไทย, हिन्दी, தமிழ், ગુજરાતી, አማርኛ, עברית, العربية",
    "emoji 👩‍👩‍👧 ZWJ 🇫🇷 flags \ufeffBOM \u200bzero\u200cwidth \x00\x1f\x7f control",
    "a literal <|endoftext|> and <fim_prefix> in a web page <pad>",
    "def f(x):\n    return {'a': [1, 2], \"b\": x ** 2}  # comment\n\nif __name__ == '__main__':\n    f(3)\n",
    "=====  ----  ****  ....  ////  \\\\\\\\  ~~~~  ####  ```py\n```  <div class=\"x\">&amp;</div>",
    "https://example.org/a/b?c=1&d=2#frag  user@example.com  C:\\Program Files\\x",
]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character map, which ``ByteLevel`` uses to spell every byte as a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class NotExpressible(Exception):
    """Why tiktoken cannot give the same ids as ``tokenizers`` for a tokenizer.json."""


@dataclass
class Choice:
    """The encoder a packing run uses: ``name`` (``tiktoken`` or ``tokenizers``), its version, and why."""

    name: str
    version: str
    reason: str
    encoding: Any = field(default=None, repr=False)

    def record(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "reason": self.reason}


def _pattern(doc: dict[str, Any]) -> str:
    """The regex tiktoken must split with for this pre-tokenizer, or NotExpressible."""
    if doc.get("normalizer") is not None:
        raise NotExpressible(f"it has a normalizer ({doc['normalizer'].get('type')})")
    pre = doc.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        pattern = GPT2_PATTERN
        byte_level = steps[0]
    elif kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        split, byte_level = steps
        if split.get("behavior") != "Isolated" or split.get("invert") or "Regex" not in split.get("pattern", {}):
            raise NotExpressible(f"its Split is not an isolating regex ({split.get('behavior')}, "
                                 f"invert={split.get('invert')}, {list(split.get('pattern', {}))})")
        pattern = split["pattern"]["Regex"]
    else:
        raise NotExpressible(f"its pre-tokenizer {' + '.join(map(str, kinds)) or 'none'} is not a regex split "
                             "then byte-level (only Split(regex) + ByteLevel or GPT-2's ByteLevel are)")
    if byte_level.get("add_prefix_space"):
        raise NotExpressible("its ByteLevel adds a prefix space")
    return pattern


def convert(path: str | Path) -> tuple[Any, int]:
    """A ``tiktoken.Encoding`` that gives the ids ``tokenizers`` gives for ``path`` (special-token text read
    as text) and how many tokens it leaves out (tokens ``tokenizers`` never outputs), or NotExpressible
    saying why there is none. Cheap (~0.3 s for 32k tokens)."""
    try:
        import tiktoken
    except ImportError:
        raise NotExpressible("tiktoken is not installed (pip install tiktoken)") from None
    from tokenizers import Tokenizer

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    pattern = _pattern(doc)
    model = doc.get("model") or {}
    if model.get("type") != "BPE":
        raise NotExpressible(f"its model is {model.get('type')}, not BPE")
    for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            raise NotExpressible(f"its BPE has {key}={model[key]!r}")
    for key in ("byte_fallback", "ignore_merges"):
        if model.get(key):
            raise NotExpressible(f"its BPE has {key}=true")
    added = doc.get("added_tokens") or []
    plain = [t["content"] for t in added if not t.get("special")]
    if plain:
        raise NotExpressible(f"it has {len(plain)} added tokens that are not special ({plain[0]!r} ...)")
    specials = {t["content"]: int(t["id"]) for t in added}
    byte_of = {c: b for b, c in bytes_to_unicode().items()}
    vocab: dict[str, int] = model.get("vocab") or {}
    ranks = {bytes([byte_of[c]]): vocab[c] for c in byte_of if c in vocab}
    if len(ranks) < 256:
        gap = next(b for b, c in bytes_to_unicode().items() if c not in vocab)
        raise NotExpressible(f"{256 - len(ranks)} bytes have no token (byte {gap:#04x} ...)")
    # the tokens tokenizers' BPE makes of their own bytes (no pre-tokenizer: the whole string is one word);
    # any other token (a special token's text, a merge result that BPE never reaches) never comes out
    # of tokenizers, so tiktoken must not have it either
    bare = Tokenizer.from_file(str(path))
    bare.pre_tokenizer = None
    bare.encode_special_tokens = True
    left_out = 0
    for s, i in vocab.items():
        if len(s) < 2:
            continue
        if all(c in byte_of for c in s) and bare.encode(s, add_special_tokens=False).ids == [i]:
            ranks[bytes(byte_of[c] for c in s)] = int(i)     # one by one: encode_batch starts a thread pool
        else:
            left_out += 1
    last = -1
    for n, m in enumerate(model.get("merges") or []):
        left, right = m.split(" ", 1) if isinstance(m, str) else m
        made = vocab.get(left + right)
        if made is None or not all(c in byte_of for c in left + right) or \
                ranks.get(bytes(byte_of[c] for c in left + right)) != made:
            continue                    # a merge tokenizers never applies (its result never comes out)
        if made <= last:
            raise NotExpressible(f"merge {n} ({left!r}, {right!r}) makes token {made} after a merge made token {last}: "
                                 "merge order and token ids disagree")
        last = made
    ids = set(ranks.values())
    try:
        enc = tiktoken.Encoding(name=Path(path).stem, pat_str=pattern, mergeable_ranks=ranks,
                                special_tokens={s: i for s, i in specials.items() if i not in ids})
    except Exception as e:             # a regex fancy-regex does not take, ...
        raise NotExpressible(f"tiktoken does not take it ({str(e).splitlines()[0]})") from None
    return enc, left_out


def probe_text() -> list[str]:
    """The start-up probe: the first PROBE_CHARS characters of each shipped UDHR text, and the edge cases."""
    from .report import udhr_texts

    return [t[:PROBE_CHARS] for t in udhr_texts().values()] + EDGE_CASES


def probe(tok: Any, encoding: Any, texts: list[str] | None = None) -> str | None:
    """None when ``encoding`` gives ``tok``'s ids (special-token text as text) on every text, else where not."""
    texts = probe_text() if texts is None else texts
    for n, text in enumerate(texts):
        want = tok.encode(text, add_special_tokens=False).ids
        got = encoding.encode_ordinary(text)
        if got != want:
            k = next((j for j, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
            return f"probe text {n} ({text[:30]!r}...) differs at token {k}: tiktoken {got[k:k + 3]}, tokenizers {want[k:k + 3]}"
    return None


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def choose(path: str | Path, tok: Any) -> Choice:
    """The encoder for packing with ``path`` (``tok``: it loaded by ``tokenizers``, special-token text as
    text): tiktoken when :func:`convert` and :func:`probe` show it gives the same ids, else ``tokenizers``,
    logged with the reason."""
    try:
        encoding, left_out = convert(path)
        diff = probe(tok, encoding)
        if diff:
            raise NotExpressible(f"tiktoken's ids differ from tokenizers' on the {diff}")
    except NotExpressible as e:
        reason = f"{Path(path).name}: packing with tokenizers (slower), not tiktoken: {e}"
        log.warning(reason)
        return Choice("tokenizers", _version("tokenizers"), reason)
    reason = ("same ids as tokenizers: byte-level BPE, merges in id order, probe equal"
              + (f"; {left_out} tokens tokenizers never outputs left out (special tokens' text ...)" if left_out else ""))
    log.info("%s: packing with tiktoken (%s)", Path(path).name, reason)
    return Choice("tiktoken", _version("tiktoken"), reason, encoding)
