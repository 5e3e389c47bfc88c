"""Candidate patterns: shapes that might be personal information, found fast, validated elsewhere.

Every pattern either starts with a literal (``@``, ``://``, ``:``) so the regex engine can skip
ahead, or runs only after a cheap gate says the document can contain a match. Web text and
source code are mostly neither digits nor ``@``: the common case must cost a substring test.
"""
from __future__ import annotations

import re

# --- e-mail and handles: both anchor on "@" --------------------------------------------------------
# The domain is matched forwards from "@"; the local part is walked backwards in Python (at most 64
# characters), which avoids a regex that would restart at every alphanumeric character of the text.
EMAIL_DOMAIN = re.compile(r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])")
EMAIL_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-'")

# Suffixes that are file types, not top-level domains: "icon@2x.png" is an image, not an address.
NOT_TLDS = frozenset({
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "css", "js", "ts", "py",
    "rb", "go", "rs", "java", "html", "htm", "xml", "json", "yaml", "yml", "txt", "md", "rst", "log",
    "zip", "gz", "tar", "pdf", "exe", "dll", "so", "o", "h", "c", "cpp", "hpp", "cc", "lock", "ini",
})

# Literal-first (the engine jumps from "@" to "@"); the character before "@" is checked in Python.
HANDLE = re.compile(r"@([A-Za-z_][A-Za-z0-9_]{1,29})(?![\w@\-({`]|\.\w)")
NOT_BEFORE_HANDLE = frozenset("@./:+-&=`\\_") 

# Words that follow "@" in code and markup, not user names: doc tags, decorators, CSS at-rules,
# Objective-C keywords, template directives.
NOT_HANDLES = frozenset({
    "param", "params", "return", "returns", "rtype", "type", "throws", "throw", "raise", "raises",
    "see", "since", "author", "version", "deprecated", "link", "code", "todo", "fixme", "note",
    "brief", "details", "file", "class", "interface", "implementation", "end", "protocol", "property",
    "synthesize", "dynamic", "selector", "encode", "import", "media", "font", "keyframes", "charset",
    "page", "supports", "include", "mixin", "extend", "if", "else", "each", "for", "while", "function",
    "staticmethod", "classmethod", "abstractmethod", "dataclass", "override", "overload", "cached",
    "cache", "pytest", "fixture", "app", "router", "api", "inject", "injectable", "component", "input",
    "output", "test", "before", "after", "beforeeach", "aftereach", "suppresswarnings", "inheritdoc",
    "example", "var", "ivar", "cvar", "value", "name", "tparam", "ingroup", "defgroup", "section",
    "foreach", "endforeach", "endif", "elseif", "section", "yield", "extends", "csrf", "method",
    "tailwind", "apply", "layer", "container", "property", "namespace", "use", "forward", "debug",
    "warn", "error", "at", "here", "everyone", "channel", "all", "given", "no_type_check", "wraps",
    "contextmanager", "asynccontextmanager", "lru_cache", "total_ordering", "unique", "final",
    "abstractproperty", "patch", "mock", "jit", "njit", "vectorize", "receiver", "validator",
    # Texinfo commands (GNU manuals)
    "samp", "emph", "strong", "xref", "ref", "pxref", "table", "item", "itemx", "node", "chapter",
    "subsection", "deffn", "smallexample", "lisp", "display", "format", "cite", "kbd", "key", "dfn",
    "url", "uref", "email", "option", "env", "command", "noindent", "verbatim", "verbatiminclude",
    "asis", "dots", "copyright", "enumerate", "itemize", "quotation", "menu", "ifinfo", "iftex",
    "settitle", "setfilename", "cindex", "findex", "vindex", "kindex", "var", "acronym", "sc",
})

# --- URLs that carry a user name and password ------------------------------------------------------
URL_CREDENTIALS = re.compile(r"://([^\s:/?#\[\]@\"'<>]+):([^\s/?#\[\]@\"'<>]+)@")
URL_SCHEME = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]{1,15}$")

# --- IP addresses ------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:]|\.\d)")
VERSION_CONTEXT = re.compile(r"(?i)\b(?:v|version|ver\.?|release|build|rev\.?|git|python|linux|kernel|gcc|node|java|ruby|perl|php)\s*$")

# --- numbers: phones, cards, national identifiers ---------------------------------------------------
# One pass collects digit runs with the separators people type (space, hyphen, dot, slash, parens),
# optionally "+"-prefixed and with a phone extension; validators then decide what each run is.
NUMBER = re.compile(
    r"(?<![\w.+/\-:])(?:\+|\(\+?)?\d[\d \-.()/\u00a0]{4,24}\d"
    r"(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\w/]|[.\-]\d)"
)
# Where one number ends and the next begins inside a digit run: " / ", ";", ",", two spaces.
NUMBER_SPLIT = re.compile(r"\s+/\s*|\s*/\s+|\s{2,}|\s?[;,]\s?")
SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
CPF_SHAPE = re.compile(r"^\d{3}\.\d{3}\.\d{3}-\d{2}$")
AADHAAR_SHAPE = re.compile(r"^[2-9]\d{3}([ -])\d{4}\1\d{4}$")
NIR_SHAPE = re.compile(r"^[12378] ?\d{2} ?\d{2} ?\d{2} ?\d{3} ?\d{3} ?\d{2}$")
CARD_SHAPE = re.compile(r"^\d{12,19}$|^\d{4}([ -])\d{4}\1\d{4}(?:\1\d{1,7})?$|^\d{4}([ -])\d{6}\2\d{4,5}$")
DATE_SHAPE = re.compile(r"^(?:\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2\d{2,4})$")
YEAR_RANGE = re.compile(r"^(?:1[6-9]|20)\d\d\s?[-/]\s?(?:(?:1[6-9]|20)?\d\d)$")
THOUSANDS = re.compile(r"^\d{1,3}(?:[.,\u00a0]\d{3})+$")
DATE_INSIDE = re.compile(r"(?:^|\D)(?:(?:1[6-9]|20)\d\d-[01]?\d-[0-3]?\d|[0-3]?\d/[01]?\d/(?:1[6-9]|20)\d\d)(?:\D|$)|\s[-+][01]\d[0-5]\d$")
DATE_PREFIX = re.compile(r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})(?![./\-]?\d)")
# Words near a short or two-group number that make it a phone number rather than a house number.
PHONE_CONTEXT = re.compile(r"(?i)\b(?:(?:tele)?phone|tel|call(?: me)?|mobile|cell|fax|desk|office|contact|reach|dial|"
                           r"whatsapp|sms|number|answering|ph|mob)\b")
NOT_PHONE_CONTEXT = re.compile(r"(?i)\b(?:isbn|issn|doi|arxiv|pmid|pp?\.|vol\.?|no\.)\W*$")
YEAR_IN_PARENS = re.compile(r"\((?:1[6-9]|20)\d\d\)")
CONTEXT_SSN = re.compile(r"(?i)\b(?:ssn|social security)\b")
CONTEXT_AADHAAR = re.compile(r"(?i)(?:aadhaa?r|uidai|\u0906\u0927\u093e\u0930)")

# Letter-led identifiers: IBAN, UK National Insurance number, Spanish DNI/NIE.
# Loose on purpose (banks print "BE 43.4679.1170.4101", "ES15-0049-..."): the longest prefix that
# passes mod-97 wins, so trailing words are trimmed by the validator, not the pattern.
IBAN = re.compile(r"(?<![\w])[A-Za-z]{2} ?\d{2}(?:[ \-.]?[A-Za-z0-9]){11,30}")
UK_NINO = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)")
ES_DNI = re.compile(r"(?<![\w\-])(?:[XYZ]-?\d{7}|\d{8})-?[A-Z](?![\w\-])")
