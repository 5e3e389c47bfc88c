"""The compiled text passes of language ID: paragraph spans, the UTF-8 bytes py3langid scores with
their spans, letters per script, and each text's dominant script (``steps.langid`` calls them per
batch; the naive-Bayes scorer itself is in ``steps.langid_nb``)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..text.scripts import SCRIPTS

# letters per script column; a Han/kana/Hangul character carries about a word: it counts as three
_LETTER_WEIGHT = np.array([0] + [3 if s in ("Hani", "Hira", "Kana", "Hang") else 1 for s in SCRIPTS], dtype=np.int64)
_SCRIPT_NAMES = SCRIPTS + ["Zyyy", "Jpan", "Kore"]


def _dominant_scripts(rows: np.ndarray, first: np.ndarray | None = None) -> list[str]:
    """``dominant_script`` of rows (default: every row) of letters per script (columns as ``_assemble``'s)."""
    first = np.arange(len(rows), dtype=np.int64) if first is None else first
    out = np.empty(len(first), dtype=np.int64)
    _dominant_kernel(rows, first, SCRIPTS.index("Hani"), SCRIPTS.index("Hang"), SCRIPTS.index("Hira"),
                     SCRIPTS.index("Kana"), len(SCRIPTS), out)
    return [_SCRIPT_NAMES[i] for i in out.tolist()]


@njit(cache=True)
def _dominant_kernel(rows, first, han, hang, hira, kana, zyyy, out):
    for d in range(first.shape[0]):
        r = rows[first[d], 1:]
        top = 0
        arg = zyyy          # no letters: undetermined
        for j in range(r.shape[0]):
            if r[j] > top:
                top, arg = r[j], j
        if r[hira] + r[kana] and r[hira] + r[kana] + r[han] >= top:
            arg = zyyy + 1
        elif r[hang] and r[han] and r[hang] + r[han] >= top:
            arg = zyyy + 2
        out[d] = arg


@njit(cache=True)
def _is_control(c):
    """``_CONTROL``: C0/C1 controls other than tab and line breaks, and lone surrogates."""
    return c <= 0x08 or c == 0x0B or c == 0x0C or 0x0E <= c <= 0x1F or 0x7F <= c <= 0x9F or 0xD800 <= c <= 0xDFFF


@njit(cache=True)
def _assemble(cps, coff, region, head, pa, pb, poff, max_chars, fast, sblob, soff, sfirst, scripts, nscripts):
    """The bytes py3langid scores for a batch, the spans to score in them, and their letters per script.

    Document ``d``'s text is ``cps[coff[d]:]``; its paragraph spans (character offsets) are
    ``pa/pb[poff[d]:poff[d+1]]``. Its spans are its head, the first ``head[d]`` characters, then
    each paragraph's first ``max_chars`` characters. A ``fast`` document is one walk: the UTF-8 of
    its first ``region[d]`` characters, control characters as spaces (what py3langid encodes when
    that text is NFC and not all upper case). Any other document brings its spans already encoded
    (``sblob[soff[k]:soff[k+1]]`` for its units ``sfirst[d] .. sfirst[d+1]-1``), one walk each.
    Returns the bytes, the walks' offsets, every span (head first, then the paragraphs, per
    document) in bytes, its document, and its letters per script (``scripts``: code point -> column)."""
    n = region.shape[0]
    walks = 0
    room = 0
    longest = 0
    for d in range(n):
        if fast[d]:
            walks += 1
            room += 4 * region[d]
        else:
            walks += sfirst[d + 1] - sfirst[d]
            room += soff[sfirst[d + 1]] - soff[sfirst[d]]
        longest = max(longest, region[d])
    nseg = n + poff[n]
    data = np.empty(room, dtype=np.uint8)
    woff = np.empty(walks + 1, dtype=np.int64)
    seg_a = np.empty(nseg, dtype=np.int64)
    seg_b = np.empty(nseg, dtype=np.int64)
    seg_doc = np.empty(nseg, dtype=np.int64)
    rows = np.zeros((nseg, nscripts), dtype=np.int64)
    at = np.empty(longest + 1, dtype=np.int64)      # byte offset of each character of a region
    pos = 0
    w = 0
    sh = 0          # the document's head span; its paragraphs follow
    for d in range(n):
        base = coff[d]
        k0, k1 = poff[d], poff[d + 1]
        seg_doc[sh:sh + 1 + k1 - k0] = d
        k = k0          # the paragraph that may hold character i
        start = pos
        for i in range(region[d]):
            c = cps[base + i]
            t = scripts[c]
            if t:
                if i < head[d]:
                    rows[sh, t] += 1
                while k < k1 and min(pb[k], pa[k] + max_chars) <= i:
                    k += 1
                if k < k1 and pa[k] <= i:
                    rows[sh + 1 + k - k0, t] += 1
            if fast[d]:
                at[i] = pos
                if c < 0x80 or _is_control(c):
                    data[pos] = 0x20 if _is_control(c) else c
                    pos += 1
                elif c < 0x800:
                    data[pos] = 0xC0 | (c >> 6)
                    data[pos + 1] = 0x80 | (c & 0x3F)
                    pos += 2
                elif c < 0x10000:
                    data[pos] = 0xE0 | (c >> 12)
                    data[pos + 1] = 0x80 | ((c >> 6) & 0x3F)
                    data[pos + 2] = 0x80 | (c & 0x3F)
                    pos += 3
                else:
                    data[pos] = 0xF0 | (c >> 18)
                    data[pos + 1] = 0x80 | ((c >> 12) & 0x3F)
                    data[pos + 2] = 0x80 | ((c >> 6) & 0x3F)
                    data[pos + 3] = 0x80 | (c & 0x3F)
                    pos += 4
        if fast[d]:
            woff[w] = start
            w += 1
            at[region[d]] = pos
            seg_a[sh], seg_b[sh] = at[0], at[head[d]]
            for k in range(k0, k1):
                seg_a[sh + 1 + k - k0], seg_b[sh + 1 + k - k0] = at[pa[k]], at[min(pb[k], pa[k] + max_chars)]
        else:
            for u in range(sfirst[d], sfirst[d + 1]):
                woff[w] = seg_a[sh + u - sfirst[d]] = pos
                w += 1
                for i in range(soff[u], soff[u + 1]):
                    data[pos] = sblob[i]
                    pos += 1
                seg_b[sh + u - sfirst[d]] = pos
        sh += 1 + k1 - k0
    woff[walks] = pos
    return data[:pos], woff, seg_a, seg_b, seg_doc, rows


@njit(cache=True)
def _blocks_kernel(cps, coff, flags, space, limit, min_chars, max_blocks, out, count):
    """``LanguageId._blocks`` of every text ``cps[coff[d]:coff[d+1]]``, cut at ``limit`` characters:
    up to ``max_blocks`` (start, end, length) rows into ``out[d]``, how many into ``count[d]`` (0
    when fewer than two). Paragraphs are the pieces between runs of whitespace (``str.isspace``,
    ``flags & space``) holding two newlines (``\\n\\s*\\n``), else between newlines, stripped."""
    for d in range(coff.shape[0] - 1):
        lo = coff[d]
        hi = min(coff[d + 1], lo + limit)
        para = False
        lines = False
        i = lo
        while i < hi and not para:          # is there a run of whitespace with two newlines?
            if flags[cps[i]] & space:
                nl = 0
                while i < hi and flags[cps[i]] & space:
                    nl += cps[i] == 10
                    i += 1
                para = nl >= 2
                lines = lines or nl > 0
            else:
                i += 1
        count[d] = 0
        if not para and not lines:
            continue
        nb = 0
        start = -1
        size = 0
        pos = lo                # where the current piece starts
        i = lo
        while True:
            # the next separator [sep, after): a newline, or a whitespace run's first to last newline
            sep = after = hi
            while i < hi:
                if not para:
                    if cps[i] == 10:
                        sep, after = i, i + 1
                        i += 1
                        break
                    i += 1
                elif flags[cps[i]] & space:
                    first = last = -1
                    while i < hi and flags[cps[i]] & space:
                        if cps[i] == 10:
                            last = i
                            if first < 0:
                                first = i
                        i += 1
                    if last > first:
                        sep, after = first, last + 1
                        break
                else:
                    i += 1
            a, b = pos, sep
            while a < b and flags[cps[a]] & space:
                a += 1
            while b > a and flags[cps[b - 1]] & space:
                b -= 1
            if a < b:
                if start < 0:
                    start, size = a - lo, b - a
                else:
                    size += 1 + b - a
                if size >= min_chars:
                    out[d, nb, 0], out[d, nb, 1], out[d, nb, 2] = start, b - lo, size
                    nb += 1
                    start = -1
                    if nb >= max_blocks:
                        break
            if sep >= hi:
                break
            pos = after
        count[d] = nb if nb >= 2 else 0
