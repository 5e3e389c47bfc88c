"""Which files of a repository are code: language from file name and extension (a GitHub-linguist-style
table), what is vendored, generated or binary (skipped by the reader and counted), and Jupyter
notebooks turned into plain text (code cells as code, markdown cells as comments, outputs dropped)."""
from __future__ import annotations

import json
import re
from typing import Any

# Language -> (kind, extensions). kind: programming | markup | data | prose (filters and the card use it).
# Where two languages share an extension the first listed wins (.m -> Objective-C, .pl -> Perl, .h -> C),
# as The Stack's extension mapping does.
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Python": ("programming", (".py", ".pyw", ".pyi")),
    "Cython": ("programming", (".pyx", ".pxd", ".pxi")),
    "JavaScript": ("programming", (".js", ".mjs", ".cjs", ".jsx")),
    "TypeScript": ("programming", (".ts", ".tsx", ".mts", ".cts")),
    "Java": ("programming", (".java",)),
    "C": ("programming", (".c", ".h")),
    "C++": ("programming", (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp")),
    "C#": ("programming", (".cs", ".csx")),
    "Go": ("programming", (".go",)),
    "Rust": ("programming", (".rs",)),
    "Ruby": ("programming", (".rb", ".rake", ".gemspec")),
    "PHP": ("programming", (".php", ".phtml", ".php3", ".php4", ".php5")),
    "Swift": ("programming", (".swift",)),
    "Kotlin": ("programming", (".kt", ".kts")),
    "Scala": ("programming", (".scala", ".sc")),
    "Objective-C": ("programming", (".m",)),
    "Objective-C++": ("programming", (".mm",)),
    "Shell": ("programming", (".sh", ".bash", ".zsh", ".ksh", ".fish")),
    "PowerShell": ("programming", (".ps1", ".psm1", ".psd1")),
    "Batchfile": ("programming", (".bat", ".cmd")),
    "Perl": ("programming", (".pl", ".pm", ".t", ".pod")),
    "Lua": ("programming", (".lua",)),
    "R": ("programming", (".r", ".R", ".rmd", ".Rmd")),
    "Julia": ("programming", (".jl",)),
    "Haskell": ("programming", (".hs", ".lhs")),
    "OCaml": ("programming", (".ml", ".mli")),
    "F#": ("programming", (".fs", ".fsi", ".fsx")),
    "Elixir": ("programming", (".ex", ".exs")),
    "Erlang": ("programming", (".erl", ".hrl")),
    "Clojure": ("programming", (".clj", ".cljs", ".cljc", ".edn")),
    "Common Lisp": ("programming", (".lisp", ".lsp", ".cl")),
    "Emacs Lisp": ("programming", (".el",)),
    "Scheme": ("programming", (".scm", ".ss")),
    "Racket": ("programming", (".rkt",)),
    "Dart": ("programming", (".dart",)),
    "Groovy": ("programming", (".groovy", ".gradle")),
    "Visual Basic": ("programming", (".vb", ".vbs", ".bas")),
    "Fortran": ("programming", (".f", ".for", ".f77", ".f90", ".f95", ".f03", ".f08")),
    "Pascal": ("programming", (".pas", ".pp", ".dpr")),
    "Assembly": ("programming", (".asm", ".s", ".S", ".nasm")),
    "SQL": ("programming", (".sql",)),
    "Zig": ("programming", (".zig",)),
    "Nim": ("programming", (".nim",)),
    "D": ("programming", (".d",)),
    "Crystal": ("programming", (".cr",)),
    "Elm": ("programming", (".elm",)),
    "Solidity": ("programming", (".sol",)),
    "Verilog": ("programming", (".v", ".sv", ".svh")),
    "VHDL": ("programming", (".vhd", ".vhdl")),
    "Ada": ("programming", (".adb", ".ads")),
    "COBOL": ("programming", (".cob", ".cbl")),
    "Prolog": ("programming", (".pro",)),
    "Tcl": ("programming", (".tcl",)),
    "Awk": ("programming", (".awk",)),
    "CUDA": ("programming", (".cu", ".cuh")),
    "GLSL": ("programming", (".glsl", ".vert", ".frag")),
    "Vue": ("programming", (".vue",)),
    "Svelte": ("programming", (".svelte",)),
    "CMake": ("programming", (".cmake",)),
    "Makefile": ("programming", (".mk", ".mak")),
    "Dockerfile": ("programming", (".dockerfile",)),
    "HTML": ("markup", (".html", ".htm", ".xhtml")),
    "CSS": ("markup", (".css",)),
    "SCSS": ("markup", (".scss", ".sass")),
    "Less": ("markup", (".less",)),
    "TeX": ("markup", (".tex", ".sty", ".cls", ".bib")),
    "Markdown": ("prose", (".md", ".markdown", ".mdx")),
    "reStructuredText": ("prose", (".rst",)),
    "Text": ("prose", (".txt",)),
    "JSON": ("data", (".json", ".jsonl", ".geojson", ".json5")),
    "YAML": ("data", (".yaml", ".yml")),
    "TOML": ("data", (".toml",)),
    "XML": ("data", (".xml", ".xsd", ".xsl", ".xslt", ".svg", ".plist", ".csproj", ".vcxproj")),
    "INI": ("data", (".ini", ".cfg", ".conf", ".properties")),
    "CSV": ("data", (".csv",)),
    "TSV": ("data", (".tsv",)),
    "Protocol Buffer": ("data", (".proto",)),
    "GraphQL": ("data", (".graphql", ".gql")),
    "Jupyter Notebook": ("programming", (".ipynb",)),
}

# Files known by their whole name (no extension, or an extension that would mislead).
FILENAMES: dict[str, str] = {
    "Makefile": "Makefile", "makefile": "Makefile", "GNUmakefile": "Makefile",
    "Dockerfile": "Dockerfile", "Containerfile": "Dockerfile",
    "CMakeLists.txt": "CMake", "Rakefile": "Ruby", "Gemfile": "Ruby", "Vagrantfile": "Ruby",
    "Jenkinsfile": "Groovy", "BUILD": "Python", "BUILD.bazel": "Python", "WORKSPACE": "Python",
    "SConstruct": "Python", "SConscript": "Python", "meson.build": "Python",
    ".bashrc": "Shell", ".zshrc": "Shell", ".profile": "Shell",
}

EXTENSIONS: dict[str, str] = {}
for _lang, (_kind, _exts) in LANGUAGES.items():
    for _e in _exts:
        EXTENSIONS.setdefault(_e, _lang)
        EXTENSIONS.setdefault(_e.lower(), _lang)

SHEBANGS = {"python": "Python", "python3": "Python", "python2": "Python", "sh": "Shell", "bash": "Shell",
            "zsh": "Shell", "node": "JavaScript", "perl": "Perl", "ruby": "Ruby", "php": "PHP", "lua": "Lua",
            "Rscript": "R", "tclsh": "Tcl", "awk": "Awk"}
SHEBANG_RE = re.compile(rb"^#!\s*(?:/usr/bin/env\s+(?:-S\s+)?)?\S*?([A-Za-z][\w.+-]*?)(?:[\d.]*)?(?:\s|$)")

BINARY_EXTENSIONS = frozenset(
    ".png .jpg .jpeg .gif .bmp .ico .icns .webp .tif .tiff .psd .pdf .eps .ttf .otf .woff .woff2 .eot "
    ".zip .gz .tgz .bz2 .xz .zst .7z .rar .tar .jar .war .whl .egg .so .dll .dylib .a .o .obj .lib .exe "
    ".bin .dat .db .sqlite .sqlite3 .pyc .pyo .pyd .class .dex .wasm .mo .npy .npz .pkl .pickle .pt .pth "
    ".onnx .h5 .hdf5 .parquet .arrow .feather .mp3 .mp4 .wav .ogg .flac .avi .mov .mkv .webm .swf .fla "
    ".iso .img .dmg .deb .rpm .msi .apk .ipa .docx .xlsx .pptx .doc .xls .ppt .odt .ods .odp".split())

# Path segments of third-party code checked into a repository (GitHub linguist's vendor.yml, abridged).
VENDORED_DIRS = frozenset({"node_modules", "vendor", "vendors", "_vendor", "vendored", "_vendored",
                           "bower_components", "jspm_packages", "third_party", "third-party", "thirdparty",
                           "3rdparty", "Pods", "Carthage", "Godeps", "__pycache__", ".git", ".hg", ".svn",
                           ".tox", ".nox", ".venv", "venv", ".eggs", ".mypy_cache", ".pytest_cache"})
MINIFIED_RE = re.compile(r"[.-]min\.(?:js|css|mjs)$|\.bundle\.js$|(?:^|/)jquery[\w.-]*\.js$", re.I)

# Generated by tools (linguist's generated.rb, abridged): lock files, protobuf/grpc stubs, source maps.
GENERATED_NAMES = frozenset({"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json",
                             "Cargo.lock", "poetry.lock", "Pipfile.lock", "Gemfile.lock", "composer.lock",
                             "go.sum", "flake.lock", "uv.lock", "pdm.lock", "mix.lock", "Podfile.lock"})
GENERATED_RE = re.compile(
    r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.(?:go|cc|h|c|swift|dart)|\.pb\.gw\.go|_grpc\.pb\.go|\.designer\.cs"
    r"|\.g\.dart|\.freezed\.dart|\.g\.cs|\.generated\.\w+|-generated\.\w+|\.js\.map|\.css\.map|\.map"
    r"|_generated\.\w+|\.Designer\.vb)$")


def kind(language: str) -> str:
    return LANGUAGES[language][0] if language in LANGUAGES else "programming"


def language_of(path: str, head: bytes = b"") -> str | None:
    """The language of a repository path, from its name, extension, or (no extension) its shebang line."""
    name = path.rsplit("/", 1)[-1]
    if name in FILENAMES:
        return FILENAMES[name]
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    if suffix:
        return EXTENSIONS.get(suffix) or EXTENSIONS.get(suffix.lower())
    if head.startswith(b"#!"):
        m = SHEBANG_RE.match(head[:200])
        if m:
            return SHEBANGS.get(m.group(1).decode("ascii", "replace"))
    return None


def may_be_code(path: str) -> bool:
    """False when the name alone rules a file out (an unknown extension); a name without an extension
    may still be a script with a shebang line."""
    name = path.rsplit("/", 1)[-1]
    return language_of(path) is not None or name.rfind(".") <= 0


def skip_reason(path: str) -> str | None:
    """Why a path is not a code document by its name alone: vendored, minified, generated, binary."""
    parts = path.split("/")
    if any(seg in VENDORED_DIRS for seg in parts[:-1]):
        return "vendored"
    name = parts[-1]
    if MINIFIED_RE.search(path):
        return "minified"
    if name in GENERATED_NAMES or GENERATED_RE.search(name):
        return "generated"
    dot = name.rfind(".")
    if dot > 0 and name[dot:].lower() in BINARY_EXTENSIONS:
        return "binary"
    return None


def looks_binary(raw: bytes) -> bool:
    """Git's rule: a NUL byte in the first 8000 bytes means binary."""
    return b"\x00" in raw[:8000]


def looks_minified(text: str, language: str) -> bool:
    """Minified JS/CSS without a .min name: few, very long lines (linguist: mean line length > 110)."""
    if language not in ("JavaScript", "CSS", "TypeScript"):
        return False
    n = text.count("\n") + 1
    return len(text) / n > 200 and len(text) > 1000


COMMENT_PREFIX = {"python": "# ", "r": "# ", "julia": "# ", "ruby": "# ", "bash": "# ", "sh": "# ",
                  "perl": "# ", "scala": "// ", "java": "// ", "javascript": "// ", "typescript": "// ",
                  "c++": "// ", "c": "// ", "c#": "// ", "go": "// ", "rust": "// ", "kotlin": "// ",
                  "swift": "// ", "haskell": "-- ", "lua": "-- ", "sql": "-- ", "matlab": "% ",
                  "octave": "% "}


def notebook_to_text(raw: str) -> tuple[str, str]:
    """A Jupyter notebook as a script in the percent format (jupytext-style): ``# %%`` before each code
    cell, markdown cells as comments, outputs dropped (they are data, not code). Returns (text, kernel
    language). Raises ValueError when the JSON is not a notebook."""
    nb: Any = json.loads(raw)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        raise ValueError("not a Jupyter notebook")
    cells = nb.get("cells")
    if cells is None:   # nbformat 3 keeps cells under worksheets
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    meta = nb.get("metadata") or {}
    lang = str((meta.get("language_info") or {}).get("name") or (meta.get("kernelspec") or {}).get("language")
               or "python").lower()
    prefix = COMMENT_PREFIX.get(lang, "# ")
    marker = prefix.rstrip() + " %%"
    out: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        src = cell.get("source", cell.get("input", ""))
        src = "".join(src) if isinstance(src, list) else str(src)
        if not src.strip():
            continue
        ctype = cell.get("cell_type")
        if ctype == "code":
            out.append(f"{marker}\n{src.rstrip()}\n")
        elif ctype in ("markdown", "raw", "heading"):
            body = "\n".join((prefix + line).rstrip() for line in src.rstrip().splitlines())
            out.append(f"{marker} [markdown]\n{body}\n")
    return "\n".join(out), lang
