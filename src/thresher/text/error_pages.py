"""Pages a server produced instead of its content: a database, PHP or application error, or an error
status page served as if it were content (HTTP 200).

Such a page keeps the site's template around the error (menus, empty form labels), so language ID
names the template's language with confidence and per-language quality rules built for prose may
pass it: the demo crawl's ``Table 'usr_web204-06_1.ranglisten_teams_2020' doesn't exist`` page over an
empty German rider profile was kept as German. ``error_page`` recognises the messages the servers
themselves print (MySQL's client and server error texts, PHP's error prefix, PostgreSQL's, ASP.NET's,
WordPress's, the HTTP reason phrases of RFC 9110) on one of the first lines of the main text, and calls
the page an error page only when little else is there: fewer than ``max_words`` other words (50, Gopher's
minimum document length), so an article or a Q&A page quoting the same message is not one.
"""
from __future__ import annotations

import re

# (kind, pattern): each matched against one stripped line, from its start
_MESSAGES: list[tuple[str, str]] = [
    ("mysql", r"Table '[^'\n]+' doesn't exist"),                           # ER_NO_SUCH_TABLE (1146)
    ("mysql", r".{0,80}You have an error in your SQL syntax"),             # ER_PARSE_ERROR (1064)
    ("mysql", r"Access denied for user '[^'\n]*'@'[^'\n]*'"),              # ER_ACCESS_DENIED_ERROR (1045)
    ("mysql", r"Unknown column '[^'\n]+' in '[^'\n]+'"),                   # ER_BAD_FIELD_ERROR (1054)
    ("mysql", r"Can't connect to (local )?MySQL server"),                  # CR_CONNECTION_ERROR (2002/2003)
    ("mysql", r"(Lost connection to MySQL server|MySQL server has gone away)"),   # CR_SERVER_LOST / _GONE_ERROR
    ("mysql", r"Too many connections\s*$"),                                # ER_CON_COUNT_ERROR (1040)
    ("mysql", r"(Warning|Fatal error): +mysqli?_\w+\(\)"),                 # PHP's mysql_* / mysqli_* functions
    ("php", r"(PHP )?(Fatal error|Parse error|Warning|Notice|Deprecated): .{1,300} in \S+\.php on line \d+"),
    ("sql", r"SQLSTATE\[[0-9A-Z]{5}\]"),                                   # PDO
    ("sql", r"(ERROR|FATAL): +relation \"[^\"\n]+\" does not exist"),     # PostgreSQL
    ("sql", r"(Warning: +)?pg_connect\(\): Unable to connect"),
    ("sql", r"Error establishing a database connection\s*$"),              # WordPress
    ("sql", r"Microsoft (OLE DB Provider for \w+|JET Database Engine) error"),
    ("aspnet", r"Server Error in '/[^'\n]*' Application\.?"),
    ("http", r"(HTTP( Error)? ?)?(400 Bad Request|401 Unauthorized|403 Forbidden|404 (Page )?Not Found|"
             r"500 Internal Server Error|502 Bad Gateway|503 Service (Temporarily )?Unavailable|"
             r"504 Gateway Time-?out)\s*$"),
]
_PATTERNS = [(kind, re.compile(p, re.IGNORECASE if kind == "http" else 0)) for kind, p in _MESSAGES]
FIRST_LINES = 3         # where a server's error lands: before the template it failed to fill
MAX_WORDS = 50          # Gopher's minimum document length: fewer other words, no document around the error


def error_page(text: str, max_words: int = MAX_WORDS) -> tuple[str, int] | None:
    """``(kind, other_words)`` when ``text`` is an error page (see the module), else None."""
    lines = [ln.strip() for ln in text[:4000].split("\n")]
    first = [ln for ln in lines if ln][:FIRST_LINES]
    for kind, pat in _PATTERNS:
        hit = next((ln for ln in first if pat.match(ln)), None)
        if hit is not None:
            others = len(text.split()) - len(hit.split())
            return (kind, others) if others < max_words else None
    return None
