"""``find_secrets``: keys, tokens and passwords in code and config text, as (type, start, end) spans.

Four detectors, each behind a cheap gate so that text without secrets costs a few C-speed scans:

- private keys: detect-secrets' PrivateKeyDetector markers, then the PEM body is redacted;
- service tokens: detect-secrets' regex plugins (AWS, GitHub, Slack, Stripe, JWT ...), run only on
  the lines where a literal prefix of theirs occurs (their own regexes scan at 2 MB/s together);
- secret-named assignments: detect-secrets' keyword list (``password``, ``api_key``, ``secret`` ...)
  and a value parser for code, INI, .env and YAML (including nested ``password:`` blocks);
- high-entropy strings: quoted strings and config values, scored with detect-secrets' Base64/Hex
  entropy plugins (limits 4.5 and 3.0 as in detect-secrets).

Every candidate then passes ``secret_filters`` (placeholders, UUIDs, sequences, ids, hashes, and for
entropy and token hits the gibberish test), and lines carrying ``pragma: allowlist secret`` are left
alone, as detect-secrets does.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from detect_secrets.plugins import aws, jwt, private_key, slack, stripe, github_token, gitlab_token
from detect_secrets.plugins import artifactory, azure_storage_key, basic_auth, discord, mailchimp, npm
from detect_secrets.plugins import openai, pypi_token, sendgrid, square_oauth, telegram_token, twilio
from detect_secrets.plugins import cloudant, ibm_cloud_iam, ibm_cos_hmac, softlayer
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.keyword import DENYLIST

from . import secret_filters as F
from .detect import PiiSpan, resolve_overlaps
from .scan import LiteralScanner, encode_texts, token_runs_batch

# Gates for detect-secrets' regex plugins: (plugin, case-sensitive literals, lower-case literals,
# line regex). A plugin runs only if one literal occurs, and then only on the lines its line regex
# (literal-first, so the regex engine skips ahead) matches. Their own regexes together scan 2 MB/s.
_LONG_VALUE = r"[=:>][ \t]*[\"']?[A-Za-z0-9_\-]{44}"
# Literals None: the plugin's token is long and shapeless; it runs on the lines holding a 20+ character
# key-like run (found by a compiled scan) that its line regex matches.
_TOKEN_PLUGINS: tuple[tuple[Any, tuple[str, ...] | None, tuple[str, ...], str], ...] = (
    (aws.AWSKeyDetector, ("A3T", "ABIA", "ACCA", "AKIA", "ASIA", "aws", "AWS", "Aws"), (),
     r"A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA|[Aa][Ww][Ss]"),
    (artifactory.ArtifactoryDetector, None, (), r"AKC[a-zA-Z0-9]{10}|AP[\dABCDEF][a-zA-Z0-9]{8}"),
    (basic_auth.BasicAuthDetector, ("://",), (), r"://[^\s/@]*:[^\s/@]*@"),
    (azure_storage_key.AzureStorageKeyDetector, ("AccountKey=",), (), r"AccountKey="),
    (discord.DiscordBotTokenDetector, None, (), r"\.[a-zA-Z\d_\-]{6}\.[a-zA-Z\d_\-]{27}"),
    (github_token.GitHubTokenDetector, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), (), r"gh[pousr]_"),
    (gitlab_token.GitLabTokenDetector, ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-",
                                        "glptt-", "glagent-", "gloas-", "GR1348941"), (),
     r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941"),
    (jwt.JwtTokenDetector, ("eyJ",), (), r"eyJ"),
    (mailchimp.MailchimpDetector, None, (), r"-us\d"),
    (npm.NpmDetector, (":_authToken",), (), r":_authToken"),
    (openai.OpenAIDetector, ("T3BlbkFJ",), (), r"T3BlbkFJ"),
    (pypi_token.PypiTokenDetector, ("pypi-Ag",), (), r"pypi-Ag"),
    (sendgrid.SendGridDetector, None, (), r"SG\."),
    (slack.SlackDetector, ("xox", "hooks.slack.com"), (), r"xox[abposr]-|hooks\.slack\.com"),
    (square_oauth.SquareOAuthDetector, ("sq0csp-",), (), r"sq0csp-"),
    (stripe.StripeDetector, ("k_live_",), (), r"k_live_"),
    (telegram_token.TelegramBotTokenDetector, None, (), r":[0-9A-Za-z_\-]{35}"),
    (twilio.TwilioKeyDetector, None, (), r"AC[a-z0-9]{32}|SK[a-z0-9]{32}"),
    (cloudant.CloudantDetector, tuple(w for x in ("clou", "cl_", "cl-", "clkey", "clpw", "clpass", "cltoken", "clapi")
                                      for w in (x, x.upper(), x.capitalize())), (),
     r"[Cc][Ll]"),
    (ibm_cloud_iam.IbmCloudIamDetector, None, (), _LONG_VALUE),
    (ibm_cos_hmac.IbmCosHmacDetector, None, (), r"[=:>][ \t]*[\"']?[a-f0-9]{48}"),
    (softlayer.SoftlayerDetector, None, (), _LONG_VALUE + r"|(?i:softlayer|\bsl[_\-]?(?:api|key|pwd|pass|token))"),
)
# IPPublicDetector is left to pii_redact's IP_ADDRESS (with private ranges kept).

_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----[ \t]*\r?\n(.*?)(?:-----END \1-----|\Z)", re.S)
_PUTTY = re.compile(r"PuTTY-User-Key-File-\d: .*\n(?:.*\n)*?Private-Lines: \d+\n((?:[A-Za-z0-9+/=]+\n?)+)")

# Keys that name a secret: detect-secrets' denylist plus token spellings that are not "tokenizer".
_KEYWORD = re.compile("(?i)" + "|".join(DENYLIST + (r"(?:access|auth|api|bearer|refresh|session|private|secret|bot)_?token",
                                                     "passphrase", "client_?secret")))
# Lower-case stems of every keyword: lines without one are never parsed for assignments.
_STEMS = tuple(w for stem in (
    "password", "passwd", "passphrase", "pwd", "secret", "contrase", "credential",
    "api_key", "auth_key", "service_key", "account_key", "db_key", "database_key", "priv_key",
    "private_key", "client_key", "key_pass", "db_pass", "database_pass",
    "access_token", "auth_token", "api_token", "bearer_token", "refresh_token", "session_token",
    "private_token", "secret_token", "bot_token") for w in {stem, stem.replace("_", "")})
_PASSWORD_KEY = re.compile(r"(?i)pass|pwd|contrase")
# What follows a secret-named key: closing quotes/brackets, an operator, and the value. The key itself
# is grown around each keyword hit in Python (a leading [\w.-]* in the regex backtracks quadratically
# on long lines).
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ASSIGNMENT = re.compile(
    r"[\"'\]]*[ \t]*(?P<op>:=|=>|==|=|:)(?![=/])[ \t]*"
    r"(?P<val>(?:!!?\w+[ \t]+)?(?:\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`|[^\s,;)}\]\"'`]+))?")
_YAML_TAG = re.compile(r"^!!?\w+\s+")
_YAML_CHILD = re.compile(r"^(?P<ind>[ \t]+)(?P<key>[\w.\-]+)[ \t]*:[ \t]*(?P<val>\S.*?)[ \t]*$")

# Entropy candidates: quoted strings and whole config values. Minimum lengths follow from the limits:
# hex entropy > 3.0 needs 9+ distinct characters, base64 entropy > 4.5 needs 23+.
_CANDIDATE = re.compile(r"[0-9A-Fa-f]{9,}|[A-Za-z0-9+/=_\-]{20,}")
_CONFIG_VALUE = re.compile(r"([A-Za-z0-9+/=_\-]+)[ \t]*(?:[#;].*)?\r?$", re.M)
_CONFIG_HEAD = re.compile(r"[ \t]*(?:export[ \t]+)?[\w.\-]+[ \t]*[=:][ \t]*(?:!!\w+[ \t]+)?")
_HEX = frozenset("0123456789abcdefABCDEF")
_PRAGMA = re.compile(r"pragma: ?allowlist[ \-]secret")


@dataclass(frozen=True)
class SecretOptions:
    keywords: bool = True
    entropy: bool = True
    tokens: bool = True
    private_keys: bool = True
    honor_pragma: bool = True
    base64_limit: float = 4.5
    hex_limit: float = 3.0
    gibberish_limit: float = F.GIBBERISH_LIMIT


@lru_cache(maxsize=1)
def _plugins() -> tuple[list[tuple[Any, tuple[str, ...] | None, re.Pattern[str]]],
                        Base64HighEntropyString, HexHighEntropyString, Any]:
    """Plugin instances are built once per process and reused for every document."""
    tokens = [(cls(), lits, re.compile(line_rx)) for cls, lits, _, line_rx in _TOKEN_PLUGINS]
    return tokens, Base64HighEntropyString(), HexHighEntropyString(), private_key.PrivateKeyDetector()


@lru_cache(maxsize=1)
def _gated() -> tuple[frozenset[str], list[tuple[Any, None, re.Pattern[str]]]]:
    """Every plugin literal, and the plugins without literals (in plugin order): a text holding
    none of the literals only needs those."""
    tokens = _plugins()[0]
    return frozenset(x for _, lits, _ in tokens if lits for x in lits), [t for t in tokens if t[1] is None]


@lru_cache(maxsize=1)
def _scanner() -> LiteralScanner:
    """All plugins' literals and the keyword stems in one compiled pass: thirty substring tests, or
    one regex alternation, cost several times more."""
    lits = sorted({x for _, xs, _, _ in _TOKEN_PLUGINS if xs for x in xs})
    return LiteralScanner(lits, list(_STEMS))


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return a, len(text) if b < 0 else b


def _lines_at(text: str, gate: re.Pattern[str], haystack: str | None = None) -> Iterator[tuple[int, str]]:
    """Each distinct line holding a gate match, with its offset. ``haystack`` is a same-length
    stand-in searched instead of ``text`` (its ASCII lower-case copy)."""
    last = -1
    for m in gate.finditer(text if haystack is None else haystack):
        a, b = _line_bounds(text, m.start())
        if a != last:
            last = a
            yield a, text[a:b]


def _shannon(data: str, charset: str) -> float:
    """detect-secrets' Shannon entropy over ``charset``: the same terms in the same order (so the same
    float), from one counting pass instead of one ``str.count`` per charset character."""
    counts = Counter(data)
    n = len(data)
    entropy = 0.0
    for x in charset:
        c = counts.get(x)
        if c:
            p_x = float(c) / n
            entropy += - p_x * math.log(p_x, 2)
    return entropy


def _is_entropic(value: str, opts: SecretOptions) -> bool:
    _, b64, hexp, _ = _plugins()
    if not set(value) - _HEX:
        entropy = _shannon(value, hexp.charset)
        if len(value) > 1 and value.isdigit():      # detect-secrets' all-digits discount
            entropy -= 1.2 / math.log(len(value), 2)
        return entropy > opts.hex_limit
    return _shannon(value, b64.charset) > opts.base64_limit


def _private_keys(text: str, out: list[PiiSpan]) -> None:
    for m in _PRIVATE_KEY.finditer(text):
        body = m.group(2).rstrip()
        if len(body.strip()) >= 16 and not F.is_elided(body.strip()):
            out.append(PiiSpan("KEY", m.start(2), m.start(2) + len(body)))
    for m in _PUTTY.finditer(text):
        out.append(PiiSpan("KEY", m.start(1), m.end(1)))


def _long_token_lines(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    end = -1
    for pos, stop in runs:
        if stop - pos >= 20 and pos > end:
            a, end = _line_bounds(text, pos)
            lines.append((a, text[a:end]))
    return lines


def gated_lines(text: str, present: set[str], runs: list[tuple[int, int]]) -> Iterator[tuple[Any, int, str]]:
    """(plugin, line start, line) for every line a token plugin's gate lets through to the plugin."""
    long_lines: list[tuple[int, str]] | None = None
    joined = ""
    literals, unlit = _gated()
    for plugin, lits, gate in (unlit if present.isdisjoint(literals) else _plugins()[0]):
        if lits is None:
            if long_lines is None:
                long_lines = _long_token_lines(text, runs)
                joined = "\n".join(line for _, line in long_lines)
            # one search over all long lines first (no gate is anchored, so a line's match is a match
            # in the joined text): most plugins find nothing and skip the per-line searches
            if not long_lines or not gate.search(joined):
                continue
            lines: Any = [(a, line) for a, line in long_lines if gate.search(line)]
        elif not present.isdisjoint(lits):
            lines = _lines_at(text, gate)
        else:
            continue
        for a, line in lines:
            yield plugin, a, line


def _tokens(text: str, present: set[str], runs: list[tuple[int, int]], out: list[PiiSpan],
            opts: SecretOptions) -> None:
    for plugin, a, line in gated_lines(text, present, runs):
        for i, j in plugin_spans(plugin, line):
            found = line[i:j]
            if len(found) < 8 or F.is_placeholder(found) or F.is_word_like(found, opts.gibberish_limit):
                continue
            kind = "PASSWORD" if isinstance(plugin, basic_auth.BasicAuthDetector) else "KEY"
            out.append(PiiSpan(kind, a + i, a + j))


def plugin_spans(plugin: Any, line: str) -> Iterator[tuple[int, int]]:
    """Where a detect-secrets regex plugin finds secrets in ``line``: its own regexes (``denylist``), the
    captured value where the regex captures one (``password=(value)``), the whole match where the
    capture is only the token's prefix (GitHub's ``(ghp|gho|...)_...``, GitLab's ``(glpat|...)-...``:
    detect-secrets' ``analyze_string`` reports just ``ghp`` there)."""
    for rx in plugin.denylist:
        for m in rx.finditer(line):
            groups = [m.span(g) for g in range(1, rx.groups + 1) if m.group(g)]
            i, j = max(groups, key=lambda g: g[1] - g[0]) if groups else m.span()
            if j - i < 8:
                i, j = m.span()
            yield i, j


def _value_span(line: str, m: re.Match[str]) -> tuple[int, int, str, bool] | None:
    val = m.group("val")
    if not val:
        return None
    start = m.start("val")
    quoted = val[0] in "\"'`" and len(val) >= 2 and val[-1] == val[0]
    if quoted:
        val, start = val[1:-1], start + 1
    tag = _YAML_TAG.match(val)
    if tag:
        val, start = val[tag.end():], start + tag.end()
    return start, start + len(val), val, quoted


def _keyword_lines(text: str, stem_hits: list[int]) -> Iterator[tuple[int, str]]:
    """Lines naming a secret: only lines holding a stem (found by the compiled scan) meet the keyword
    regex, an alternation that would scan a whole text at a few MB/s."""
    last = -1
    for i in stem_hits:
        if i <= last:
            continue
        a, b = _line_bounds(text, i)
        last = b
        if _KEYWORD.search(text, a, b):
            yield a, text[a:b]


def _assignments(line: str) -> Iterator[tuple[re.Match[str], str]]:
    """(operator-and-value match, key) for each secret-named key in ``line`` that is assigned."""
    end = -1
    for km in _KEYWORD.finditer(line):
        if km.start() < end:
            continue
        ks, end = km.start(), km.end()
        while ks > 0 and line[ks - 1] in _KEY_CHARS:
            ks -= 1
        while end < len(line) and line[end] in _KEY_CHARS:
            end += 1
        m = _ASSIGNMENT.match(line, end)
        if m:
            yield m, line[ks:end]


def _keyword_values(text: str, stem_hits: list[int], out: list[PiiSpan], opts: SecretOptions) -> None:
    for a, line in _keyword_lines(text, stem_hits):
        for m, key in _assignments(line):
            kind = "PASSWORD" if _PASSWORD_KEY.search(key) else "KEY"
            if m.group("val") is None and m.group("op") == ":":
                _yaml_children(text, a + len(line) + 1, line, kind, out)
                continue
            got = _value_span(line, m)
            if got is None:
                continue
            s, e, val, quoted = got
            if not any(c.isdigit() for c in val) and (val.isalpha() and not quoted
                                                      or F.is_word_like(val, opts.gibberish_limit)):
                continue                   # "password: enter it twice", "secret_key: bytes", paths: prose
            if F.is_placeholder(val, key) or F.is_reference(val, quoted) or F.is_id_string(val, line) \
                    or F.is_uuid(val) or (m.group("op") == "==" and not quoted):
                continue
            out.append(PiiSpan(kind, a + s, a + e))


def _yaml_children(text: str, pos: int, parent: str, kind: str, out: list[PiiSpan]) -> None:
    """``password:`` opening a YAML block: its indented ``key: value`` children are the secret."""
    indent = len(parent) - len(parent.lstrip())
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        m = _YAML_CHILD.match(line)
        if not m or len(m.group("ind").expandtabs()) <= indent:
            return
        val = m.group("val")
        s = m.start("val")
        if len(val) >= 2 and val[0] in "\"'" and val[-1] == val[0]:
            val, s = val[1:-1], s + 1
        if not F.is_placeholder(val) and not F.is_reference(val, False):
            out.append(PiiSpan(kind, pos + s, pos + s + len(val)))
        pos = end + 1


def _entropy_candidates(text: str, runs: list[tuple[int, int]]) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_config_value) of quoted strings and config values among the key-like runs."""
    n = len(text)
    for a, b in runs:
        # "=" is a base64 character only as padding: "key=value" inside one run is an assignment
        body = text[a:b].rstrip("=")
        cut = body.rfind("=")
        if cut >= 0:
            a += cut + 1
            if b - a < 9:
                continue
        before = text[a - 1] if a else ""
        if before in "\"'" and b < n and text[b] == before:
            yield a, b, False
            continue
        if b < n and text[b] not in " \t#;\r\n":     # a config value ends its line (or a comment follows)
            continue
        m = _CONFIG_VALUE.match(text, a, min(n, b + 200))
        if m and m.end(1) == b:
            la = text.rfind("\n", max(0, a - 300), a) + 1
            head = _CONFIG_HEAD.match(text, la, a)
            if head and head.end() == a:
                yield a, b, True


def _high_entropy(text: str, runs: list[tuple[int, int]], out: list[PiiSpan], opts: SecretOptions) -> None:
    found: list[PiiSpan] = []
    for s, e, config in _entropy_candidates(text, runs):
        val = text[s:e]
        if not _CANDIDATE.fullmatch(val) or not _is_entropic(val, opts):
            continue
        a, b = _line_bounds(text, s)
        line = text[a:b]
        if config and _continues(text, line, b):
            continue
        if F.is_placeholder(val) or F.is_uuid(val) or F.is_sequential(val) or F.is_id_string(val, line) \
                or F.is_hash_context(val, line) or F.is_word_like(val, opts.gibberish_limit):
            continue
        found.append(PiiSpan("KEY", s, e))
    # A text listing many distinct hex strings is a table of hashes or test vectors (BigCode's
    # file_has_hashes idea): its hex hits are dropped, other hits stay.
    hexes = {text[s.start:s.end] for s in found if not set(text[s.start:s.end]) - _HEX}
    if len(hexes) >= 4:
        found = [s for s in found if text[s.start:s.end] not in hexes]
    out.extend(found)


def _continues(text: str, line: str, end: int) -> bool:
    """An INI value whose next line is indented deeper (and is no ``key = value``) spans both lines:
    the token on the first line is only part of it."""
    nxt_end = text.find("\n", end + 1)
    nxt = text[end + 1: len(text) if nxt_end < 0 else nxt_end]
    if not nxt.strip() or "=" in nxt or ":" in nxt:
        return False
    indent = len(line) - len(line.lstrip())
    return len(nxt) - len(nxt.lstrip()) > indent


def _allowlisted(text: str, span: PiiSpan) -> bool:
    a, b = _line_bounds(text, span.start)
    if _PRAGMA.search(text, a, b):
        return True
    prev = text.rfind("\n", 0, max(0, a - 1)) + 1
    return a > 0 and "allowlist nextline secret" in text[prev:a]


def scan_texts(texts: list[str], options: SecretOptions | None = None) -> list[tuple[set[str], list[int], list]]:
    """The compiled scans ``find_secrets`` needs, over many texts at once: for each, (literals
    present, keyword-stem positions, key-like runs)."""
    opts = options or SecretOptions()
    encoded = encode_texts(texts)
    lits = _scanner().scan_batch(texts, encoded=encoded)
    runs = token_runs_batch(texts, encoded=encoded) if (opts.tokens or opts.entropy) else [[] for _ in texts]
    return [(present, stems, r) for (present, stems), r in zip(lits, runs)]


def find_secrets(text: str, path: str | None = None, options: SecretOptions | None = None,
                 scanned: tuple[set[str], list[int], list] | None = None) -> list[PiiSpan]:
    """Validated secret spans (types KEY and PASSWORD), sorted, never overlapping.

    ``path`` (the document's file path, when known) lets lock files through untouched: their hashes
    are integrity checksums, not secrets. ``scanned``: the text's ``scan_texts`` entry, when known.
    """
    opts = options or SecretOptions()
    if F.is_lock_file(path):
        return []
    out: list[PiiSpan] = []
    present, stem_hits, runs = scanned if scanned is not None else scan_texts([text], opts)[0]
    if opts.private_keys and ("PRIVATE KEY" in text or "PuTTY-User-Key-File" in text):
        _private_keys(text, out)
    if opts.tokens:
        _tokens(text, present, runs, out, opts)
    if opts.keywords:
        _keyword_values(text, stem_hits, out, opts)
    if opts.entropy:
        _high_entropy(text, runs, out, opts)
    if opts.honor_pragma and out and "allowlist" in text:
        out = [s for s in out if not _allowlisted(text, s)]
    return resolve_overlaps(out) if len(out) > 1 else out
