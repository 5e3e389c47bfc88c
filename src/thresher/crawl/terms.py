"""Terms of service: find a site's terms / licence / copyright / legal-notice page from its links, and
say what the page states about automated access, text-and-data mining / AI training and licensing.

Links are matched by anchor text and URL path in English, German, French, Spanish, Portuguese,
Italian, Dutch, Polish, Russian, Chinese, Japanese, Korean and Arabic. The analysis is keyword
evidence, not legal advice: each finding carries the sentence it came from so a person can check.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .rights import cc_id

# kind -> (anchor text pattern, URL path pattern)
LINK_PATTERNS: dict[str, tuple[str, str]] = {
    "terms": (
        r"terms(\s+(of|and)\s+(service|use|conditions))?|conditions\s+of\s+use|user\s+agreement|"
        r"nutzungsbedingungen|\bagb\b|allgemeine\s+geschäftsbedingungen|conditions\s+(générales|d['’]utilisation)|"
        r"términos(\s+y\s+condiciones|\s+de\s+(uso|servicio))?|condiciones\s+de\s+uso|termos\s+(de\s+(uso|serviço)|e\s+condições)|"
        r"termini\s+(e\s+condizioni|di\s+(uso|servizio))|condizioni\s+d['’]uso|gebruiksvoorwaarden|algemene\s+voorwaarden|"
        r"regulamin|warunki\s+korzystania|условия\s+(использования|пользования)|пользовательское\s+соглашение|"
        r"服务条款|使用条款|用户协议|利用規約|이용약관|شروط\s+(الاستخدام|الخدمة)",
        r"/(terms|tos|terms-of-(use|service)|terms[-_]and[-_]conditions|conditions|legal/terms|agb|"
        r"nutzungsbedingungen|cgu|cgv|terminos|condiciones|termos|termini|voorwaarden|regulamin|"
        r"user-agreement|eula)([-_./?]|$)"),
    "license": (
        r"licen[cs]e|lizenz|licencia|licença|licenza|licentie|licencja|лицензия|许可|ライセンス|라이선스|ترخيص",
        r"/(licen[cs]e|licensing|lizenz|licencia|licenca|licenza|licentie)([-_./?]|$)"),
    "copyright": (
        r"copyright|urheberrecht|droits?\s+d['’]auteur|derechos\s+de\s+autor|direitos\s+autorais|"
        r"diritto\s+d['’]autore|auteursrecht|prawa\s+autorskie|авторск|版权|著作権|저작권|حقوق\s+(النشر|الطبع)",
        r"/(copyright|copyrights|urheberrecht|droits-d-auteur|derechos-de-autor)([-_./?]|$)"),
    "legal_notice": (
        r"legal(\s+notice)?|impressum|imprint|mentions\s+légales|aviso\s+legal|note\s+legali|colofon|"
        r"правовая\s+информация|法律声明|法的事項",
        r"/(legal|impressum|imprint|mentions-legales|aviso-legal|note-legali)([-_./?]|$)"),
}
# no \b: CJK has no word boundaries; a Latin match must not sit inside a longer Latin word
_TEXT = {k: re.compile(rf"^\W*({t})\W*$|(?<![a-z])({t})(?![a-z])", re.I) for k, (t, _) in LINK_PATTERNS.items()}
_PATH = {k: re.compile(u, re.I) for k, (_, u) in LINK_PATTERNS.items()}
KIND_ORDER = ("terms", "license", "copyright", "legal_notice")


def terms_links(links: list[tuple[str, str, str]], site_host: str) -> dict[str, tuple[str, int]]:
    """The best candidate per kind among a page's same-site links: kind -> (url, score). An anchor
    text that is only the phrase scores 3, a phrase inside longer text 2, a URL path match 1."""
    best: dict[str, tuple[str, int]] = {}
    for url, text, rel in links:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        if host != site_host.removeprefix("www."):
            continue
        path = urlsplit(url).path
        for kind in KIND_ORDER:
            score = 0
            m = _TEXT[kind].search(text) if text and len(text) <= 80 else None
            if m:
                score = 3 if m.group(1) else 2
            if _PATH[kind].search(path):
                score += 1
            if kind == "license" and "license" in rel.split():
                score += 3
            if score and (kind not in best or score > best[kind][1]):
                best[kind] = (url, score)
    return best


# What terms texts say: finding -> pattern (sentences are matched one by one)
FINDINGS: dict[str, str] = {
    "automated_access_prohibited":
        r"(robots?|spiders?|crawl\w*|scrap\w*|automated\s+(means|access|systems?|tools?|queries)|data\s+mining).{0,120}"
        r"(prohibit|not\s+(permitted|allowed)|may\s+not|must\s+not|forbidden|without\s+(our|the)\s+(prior\s+)?(written\s+)?(consent|permission))|"
        r"(may\s+not|must\s+not|shall\s+not|prohibited\s+from|do\s+not).{0,80}(robots?|spiders?|crawl|scrap|automated\s+means)|"
        r"(automatisiert|crawler|scraping).{0,80}(untersagt|verboten|nicht\s+gestattet)|"
        r"(extraction|aspiration|robots?).{0,80}(interdit|prohibé)|(rastreo|extracción\s+automatizada).{0,80}prohibid",
    "tdm_reserved":
        r"(text\s+and\s+data\s+mining|\btdm\b|article\s+4\b.{0,40}(directive|2019/790)|2019/790|"
        r"(train\w*|develop\w*).{0,40}(artificial\s+intelligence|\bai\b|machine\s+learning|language\s+models?)|"
        r"(artificial\s+intelligence|\bai\b|machine[-\s]learning).{0,60}(train\w*|models?))"
        r".{0,200}(reserv|prohibit|not\s+(permitted|allowed)|may\s+not|opt[-\s]?out|forbidden|without.{0,30}(consent|permission|licen))|"
        r"(reserv\w*|opt[-\s]?out|prohibit\w*|not\s+permitted|may\s+not).{0,120}(text\s+and\s+data\s+mining|\btdm\b|"
        r"artificial\s+intelligence|machine\s+learning|\bai\s+(training|models?))|"
        r"text-\s*und\s+data-?mining.{0,120}(vorbehalt|untersagt)|fouille\s+de\s+textes.{0,120}(réserv|interdit)|"
        r"minería\s+de\s+textos.{0,120}(reserv|prohibid)",
    "all_rights_reserved":
        r"all\s+rights\s+reserved|alle\s+rechte\s+vorbehalten|tous\s+droits\s+réservés|todos\s+los\s+derechos\s+reservados|"
        r"todos\s+os\s+direitos\s+reservados|tutti\s+i\s+diritti\s+riservati|все\s+права\s+защищены|版权所有|著作権所有",
    "commercial_use_prohibited":
        r"(non[-\s]?commercial|commercial\s+(use|purposes?)).{0,80}(prohibit|not\s+(permitted|allowed)|may\s+not|only)|"
        r"(may\s+not|must\s+not|shall\s+not).{0,60}commercial",
    "permissive_license":
        r"permission\s+is\s+hereby\s+granted|free\s+of\s+charge.{0,80}(copy|use|modify)|"
        r"creative\s+commons|licensed\s+under\s+the\s+(mit|apache|bsd|gnu)|public\s+domain",
}
_FINDINGS = {k: re.compile(v, re.I | re.S) for k, v in FINDINGS.items()}
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n{2,}")
LICENSE_NAMES = re.compile(
    r"creative\s+commons\s+(attribution[\w\s\-]*?|zero|cc0)[\s\-]*(\d\.\d)?\b|\b(CC[\s\-]BY(?:[\s\-](?:SA|NC|ND)){0,2}"
    r"(?:[\s\-]\d\.\d)?|CC0)\b|\b(MIT|Apache|BSD|GNU\s+(?:Free\s+Documentation|General\s+Public))\s+Licen[cs]e", re.I)


def analyse_terms(text: str, links: list[str] = ()) -> dict[str, Any]:
    """Findings in a terms page's text: each with the (shortened) sentence that shows it, plus licences named."""
    findings: dict[str, str] = {}
    for sentence in _SENTENCE.split(re.sub(r"[ \t\r\f\v]+", " ", text)):
        s = sentence.strip()
        if len(s) < 12:
            continue
        for k, rx in _FINDINGS.items():
            if k not in findings and rx.search(s):
                findings[k] = s[:300]
    licenses = sorted({re.sub(r"\s+", " ", m.group(0)).strip() for m in LICENSE_NAMES.finditer(text)})
    licenses += sorted({c for u in links if (c := cc_id(u))})
    return {"findings": findings, "licenses": licenses}
