"""How a tokenizer does per language: fertility, continued words, bytes per token, parity.

- *fertility*: tokens per whitespace word (Rust et al., 2021), or per character for scripts written
  without spaces between words (Chinese, Japanese, Thai, ...), counted on the whole text;
- *continued words*: the share of words (characters, for those scripts) that become two tokens or
  more when tokenized alone, with the space that precedes them in running text;
- *bytes per token*: UTF-8 bytes of the text / its tokens;
- *parity* (Petrov et al., 2023): tokens for the text / tokens for the same text in English. On
  parallel text (the UDHR: the same declaration in every language, shipped in package data) a parity
  of 2 means the language pays twice as much per sentence, in context length and in compute.

Other tokenizers a user would otherwise pick are measured side by side, from files that ship inside
installed packages (no download): ``mistral-v1`` (Mistral 7B's 32k SentencePiece BPE) and ``tekken``
(Mistral NeMo's 131k byte-level BPE), both from the ``mistral-common`` package (``thresher[compare]``).
"""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import ConfigError, InputError
from ..io.writer import write_json

# scripts written without spaces between words: fertility per character (ISO 639-3 and 639-1 base codes)
SPACELESS = {"cmn", "zho", "yue", "wuu", "jpn", "tha", "lao", "khm", "mya", "bod", "dzo",
             "zh", "ja", "th", "lo", "km", "my", "bo", "dz"}
REFERENCE = "eng"
COMPARE = ("mistral-v1", "tekken")


class Counter(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def word_counts(self, words: list[str]) -> list[int]: ...


class HFTokenizer:
    """A ``tokenizer.json`` (ours, or any Hugging Face fast tokenizer)."""

    def __init__(self, path: str | Path, name: str | None = None):
        from tokenizers import Tokenizer

        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: tokenizer file not found")
        try:
            self.tok = Tokenizer.from_file(str(p))
        except Exception as e:          # tokenizers raises a bare Exception for a bad file
            raise InputError(f"{p}: not a tokenizers tokenizer.json ({str(e).splitlines()[0]})") from None
        self.name = name or ("thresher" if p.name == "tokenizer.json" else p.stem)

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, add_special_tokens=False).ids)

    def word_counts(self, words: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tok.encode_batch([" " + w for w in words], add_special_tokens=False)]


class TiktokenCounter:
    """A tiktoken ``Encoding`` built to give a tokenizer.json's ids (``encoder.choose``): the same counts as
    its ``HFTokenizer``, several times faster (special-token text is counted as text)."""

    def __init__(self, encoding: Any, name: str = "thresher"):
        self.enc = encoding
        self.name = name

    def count(self, text: str) -> int:
        return len(self.enc.encode_ordinary(text))

    def word_counts(self, words: list[str]) -> list[int]:
        return [len(self.enc.encode_ordinary(" " + w)) for w in words]


class SentencePieceTokenizer:
    """Mistral 7B v0.1's SentencePiece model (32,000 pieces) as shipped in ``mistral_common/data``."""

    name = "mistral-v1"

    def __init__(self) -> None:
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=str(_mistral_data("tokenizer.model.v1")))

    def count(self, text: str) -> int:
        return len(self.sp.encode(text))

    def word_counts(self, words: list[str]) -> list[int]:
        return [len(x) for x in self.sp.encode(words)]      # SentencePiece adds the word's leading space (▁)


class TekkenTokenizer:
    """Mistral NeMo's Tekken (tiktoken byte-level BPE, 131,072 tokens) as shipped in ``mistral_common/data``."""

    name = "tekken"

    def __init__(self) -> None:
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        self.tok = Tekkenizer.from_file(str(_mistral_data("tekken_240911.json")))

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, bos=False, eos=False))

    def word_counts(self, words: list[str]) -> list[int]:
        return [len(self.tok.encode(" " + w, bos=False, eos=False)) for w in words]


def _mistral_data(name: str) -> Path:
    try:
        import mistral_common
    except ImportError:
        raise ConfigError("comparing with Mistral's tokenizers needs the mistral-common package: "
                          "pip install 'thresher[compare]' (or pass --compare none)") from None
    return Path(mistral_common.__file__).parent / "data" / name


COMPARATORS: dict[str, Callable[[], Counter]] = {"mistral-v1": SentencePieceTokenizer, "tekken": TekkenTokenizer}


def load(spec: str | Path) -> Counter:
    """A tokenizer.json path, or the name of a comparison tokenizer."""
    if str(spec) in COMPARATORS:
        try:
            return COMPARATORS[str(spec)]()
        except ImportError as e:
            raise ConfigError(f"{spec}: needs {e.name}: pip install 'thresher[compare]'") from None
    return HFTokenizer(spec)


def udhr_texts() -> dict[str, str]:
    """The parallel UDHR texts shipped in package data, by language code (file name)."""
    d = files("thresher") / "data" / "udhr"
    return {p.name[:-4]: p.read_text(encoding="utf-8") for p in sorted(d.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".txt")}


def dir_texts(text_dir: str | Path) -> dict[str, str]:
    """``DIR/<language>.txt`` files (UTF-8), one text per language."""
    d = Path(text_dir)
    if not d.is_dir():
        raise InputError(f"{d}: text folder not found")
    out = {p.stem: p.read_text(encoding="utf-8") for p in sorted(d.glob("*.txt"))}
    if not out:
        raise InputError(f"{d}: holds no <language>.txt files")
    return out


def release_texts(release: str | Path, max_bytes: int = 200_000) -> dict[str, str]:
    """Up to ``max_bytes`` of text per ``meta.language`` of a release (in shard order, streamed)."""
    import orjson
    import pyarrow.parquet as pq

    from ..release import Release

    got: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    for f in Release(release).files("data"):
        for b in pq.ParquetFile(f).iter_batches(batch_size=1024, columns=["text", "meta"]):
            for text, meta in zip(b.column("text").to_pylist(), b.column("meta").to_pylist()):
                lang = str(orjson.loads(meta).get("language") or "unknown") if '"language"' in (meta or "") else "unknown"
                if size.get(lang, 0) < max_bytes:
                    got.setdefault(lang, []).append(text)
                    size[lang] = size.get(lang, 0) + len(text.encode("utf-8", "surrogatepass"))
    if not got:
        raise InputError(f"{release}: the release holds no text")
    return {lang: "\n".join(t) for lang, t in sorted(got.items())}


def is_spaceless(lang: str) -> bool:
    return lang.split("_")[0].split("-")[0] in SPACELESS


# words end at white space and at the Ethiopic word space (Amharic's traditional separator)
_WORD_SEP = re.compile(r"[\s\u1361]+")


def units(lang: str, text: str) -> list[str]:
    """Whitespace words, or the non-space characters of a script written without spaces."""
    if is_spaceless(lang):
        return [c for c in text if not c.isspace()]
    return [w for w in _WORD_SEP.split(text) if w]


def measure(tok: Counter, lang: str, text: str) -> dict[str, Any]:
    words = units(lang, text)
    n_tok = tok.count(text)
    per_word = tok.word_counts(words) if words else []
    nbytes = len(text.encode("utf-8"))
    return {"unit": "char" if is_spaceless(lang) else "word", "units": len(words), "bytes": nbytes, "tokens": n_tok,
            "fertility": n_tok / len(words) if words else 0.0,
            "continued": sum(1 for c in per_word if c > 1) / len(words) if words else 0.0,
            "bytes_per_token": nbytes / n_tok if n_tok else 0.0}


def fertility_report(tokenizer: str | Path | Counter, texts: dict[str, str] | None = None,
                     compare: tuple[str, ...] | list[str] = (), parallel: bool = True) -> dict[str, Any]:
    """Metrics per language for the tokenizer (a tokenizer.json, or a loaded ``Counter``) and each
    comparison tokenizer (default texts: the UDHR). Parity against English (``eng``) only for ``parallel``
    texts that have it."""
    texts = udhr_texts() if texts is None else texts
    first: Counter = load(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer
    toks = [first] + [load(c) for c in compare]
    names = [t.name for t in toks]
    if len(set(names)) != len(names):
        raise ConfigError(f"two tokenizers named alike: {', '.join(names)}")
    langs: dict[str, dict[str, Any]] = {lang: {} for lang in texts}
    for t in toks:
        for lang, text in texts.items():
            langs[lang][t.name] = measure(t, lang, text)
        ref = langs.get(REFERENCE, {}).get(t.name)
        for lang in texts:
            m = langs[lang][t.name]
            m["parity"] = m["tokens"] / ref["tokens"] if parallel and ref and ref["tokens"] else None
    return {"tokenizers": names, "reference": REFERENCE if parallel and REFERENCE in texts else None,
            "languages": langs}


def markdown_table(rep: dict[str, Any]) -> str:
    names = rep["tokenizers"]
    head = ["language", "unit"] + [f"{n} {m}" for n in names for m in ("fertility", "parity", "continued", "bytes/tok")]
    rows = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for lang, per in rep["languages"].items():
        cells = [lang, per[names[0]]["unit"]]
        for n in names:
            m = per[n]
            cells += [f"{m['fertility']:.2f}", "" if m["parity"] is None else f"{m['parity']:.2f}",
                      f"{m['continued']:.1%}", f"{m['bytes_per_token']:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot(rep: dict[str, Any], path: Path) -> Path:
    """Grouped horizontal bars per language: fertility (left) and parity (right), one colour per tokenizer."""
    import numpy as np
    from matplotlib.figure import Figure

    names, langs = rep["tokenizers"], list(rep["languages"])
    fig = Figure(figsize=(10, max(4.0, 0.28 * len(langs) * max(1, len(names)) / 1.5 + 1)), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(langs))
    h = 0.8 / len(names)
    colors = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f"]
    for k, n in enumerate(names):
        fert = [rep["languages"][lang][n]["fertility"] for lang in langs]
        par = [rep["languages"][lang][n]["parity"] or 0.0 for lang in langs]
        axes[0].barh(y + k * h, fert, height=h, color=colors[k % len(colors)], label=n)
        axes[1].barh(y + k * h, par, height=h, color=colors[k % len(colors)], label=n)
    axes[0].set_yticks(y + h * (len(names) - 1) / 2, [f"{lang} ({rep['languages'][lang][names[0]]['unit']})"
                                                      for lang in langs], fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("fertility: tokens per word (per char)")
    axes[1].set_xlabel(f"parity: tokens / tokens in {rep.get('reference') or '-'}")
    axes[1].axvline(1.0, color="#444", lw=0.8)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def write_report(rep: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``fertility.json`` and ``fertility.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "fertility.json", rep, sort_keys=False)
    tmp = out / "fertility.png.tmp"
    plot(rep, tmp)
    tmp.replace(out / "fertility.png")
    return {"json": out / "fertility.json", "png": out / "fertility.png"}
