"""PII and secrets: accuracy against gold labels and throughput, thresher beside its peers.

Prints markdown tables:

1. precision / recall / F1 per entity type on presidio-research's labelled records, for thresher's
   ``find_pii``, datatrove 0.10.1's ``PIIFormatter`` (emails and IPs: all it covers) and
   presidio-analyzer's pattern recognizers run offline (no spaCy model: recognizer classes directly);
2. validator accuracy on python-stdnum's IBAN lists (thresher and presidio's IbanRecognizer);
3. secrets precision / recall on detect-secrets' sample files (tests/fixtures/pii/secrets_gold.json),
   thresher beside detect-secrets with its default settings and with BigCode's configuration;
4. MB/s of ``pii_redact`` + ``secrets_redact`` through a real thresher pipeline on 2 workers over the
   200 MB corpus (median of --runs), beside a no-step pipeline (I/O floor) and the peers' PII code
   on a 2-process pool over the first --peer-mb of the same corpus.

Peers live in their own virtual environments, created on first use (benchmarks/.venv-datatrove,
benchmarks/.venv-presidio; an existing benchmarks/.venv-peers with datatrove is reused).

Example: .venv/bin/python benchmarks/pii_accuracy.py --data /work/shared/data --corpus /tmp/bench/corpus.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from thresher.pii import find_pii, find_secrets  # noqa: E402
from thresher.pii.evaluate import (PRESIDIO_TYPES, Scores, iban_lists, load_secrets_gold,  # noqa: E402
                                   score_presidio, score_secrets)

FIX = ROOT / "tests" / "fixtures" / "pii"
PRESIDIO_FILES = ("synth_dataset_v2.json", "generated_small.json", "generated_large.json")
TYPES = tuple(PRESIDIO_TYPES.values())


# --- peer environments ---------------------------------------------------------------------------------

def venv_python(name: str, requirement: str, module: str) -> Path | None:
    """A venv under benchmarks/ that can import ``module``; created with pip if missing."""
    candidates = [ROOT / "benchmarks" / name]
    if module.startswith("datatrove"):
        candidates.append(ROOT / "benchmarks" / ".venv-peers")
    for venv in candidates:
        py = venv / "bin" / "python"
        if py.exists() and subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0:
            return py
    venv = candidates[0]
    print(f"(creating {venv} with {requirement})", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    r = subprocess.run([py, "-m", "pip", "install", "-q", *requirement.split()], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"could not install {requirement}: {r.stderr[-500:]}", file=sys.stderr)
        return None
    return py


DATATROVE_PEER = textwrap.dedent('''
    import json, sys, time
    from multiprocessing import Pool
    from datatrove.pipeline.formatters import PIIFormatter
    fmt = PIIFormatter()
    def spans(text):
        out = [("EMAIL", m.start(), m.end()) for m in fmt.emails_replacer.regex.finditer(text)]
        out += [("IP_ADDRESS", m.start(), m.end()) for m in fmt.ip_replacer.regex.finditer(text)
                if fmt.ip_replacer.validator(m.group(0))]
        return out
    def redact(texts):
        return sum(len(fmt.format(t).encode()) for t in texts)
    if __name__ == "__main__":
        mode, src, dst = sys.argv[1:4]
        texts = json.load(open(src))
        if mode == "spans":
            json.dump([spans(t) for t in texts], open(dst, "w"))
        else:
            chunks = [texts[i::16] for i in range(16)]
            t0 = time.perf_counter()
            with Pool(2) as pool:
                pool.map(redact, chunks)
            json.dump({"seconds": time.perf_counter() - t0}, open(dst, "w"))
''')

PRESIDIO_PEER = textwrap.dedent('''
    import json, sys, time
    from multiprocessing import Pool
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer,
        IbanRecognizer, IpRecognizer, PhoneRecognizer, UsSsnRecognizer)
    NAMES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "IP_ADDRESS": "IP_ADDRESS",
             "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN"}
    RECS = [EmailRecognizer(), PhoneRecognizer(), IpRecognizer(), CreditCardRecognizer(),
            IbanRecognizer(), UsSsnRecognizer()]
    def spans(text):
        out = []
        for r in RECS:
            for res in r.analyze(text, r.supported_entities, None) or []:
                if res.score > 0:
                    out.append((NAMES.get(res.entity_type, res.entity_type), res.start, res.end))
        return out
    def count(texts):
        return sum(len(spans(t)) for t in texts)
    if __name__ == "__main__":
        mode, src, dst = sys.argv[1:4]
        texts = json.load(open(src))
        if mode == "spans":
            json.dump([spans(t) for t in texts], open(dst, "w"))
        else:
            chunks = [texts[i::16] for i in range(16)]
            t0 = time.perf_counter()
            with Pool(2) as pool:
                pool.map(count, chunks)
            json.dump({"seconds": time.perf_counter() - t0}, open(dst, "w"))
''')


def run_peer(py: Path | None, script: str, mode: str, texts: list[str], tmp: Path) -> object | None:
    if py is None:
        return None
    src, dst, code = tmp / f"in-{mode}.json", tmp / f"out-{mode}.json", tmp / "peer.py"
    code.write_text(script)
    src.write_text(json.dumps(texts))
    r = subprocess.run([str(py), str(code), mode, str(src), str(dst)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"peer failed: {r.stderr[-800:]}", file=sys.stderr)
        return None
    return json.loads(dst.read_text())


# --- tables ----------------------------------------------------------------------------------------------

def prf_cell(sc: Scores | None, kind: str, covered: bool) -> str:
    if sc is None or not covered:
        return "—"
    p, r, f = sc.prf(kind)
    return f"{p:.3f} / {r:.3f} / **{f:.3f}**"


def presidio_table(data: Path, dt_py: Path | None, pr_py: Path | None, tmp: Path) -> None:
    records = [r for f in PRESIDIO_FILES for r in json.loads((data / "presidio_research" / f).read_text())]
    texts = [r["full_text"] for r in records]
    t0 = time.perf_counter()
    ours = score_presidio(records, lambda t: find_pii(t))
    ours_s = time.perf_counter() - t0
    dt = run_peer(dt_py, DATATROVE_PEER, "spans", texts, tmp)
    pr = run_peer(pr_py, PRESIDIO_PEER, "spans", texts, tmp)
    dt_sc = score_presidio(records, None, TYPES, dt) if dt is not None else None  # type: ignore[arg-type]
    pr_sc = score_presidio(records, None, TYPES, pr) if pr is not None else None  # type: ignore[arg-type]
    gold = {k: ours.tp[k] + ours.fn[k] for k in TYPES}
    print(f"\n### PII spans on presidio-research ({len(records)} records: {', '.join(PRESIDIO_FILES)})\n")
    print("Cells: precision / recall / **F1**. A prediction counts when it overlaps an unmatched gold span of "
          "the same type. thresher keeps private IPs by policy (one 10.x gold address is a miss).\n")
    print("| type | gold spans | thresher | datatrove PIIFormatter | presidio pattern recognizers |")
    print("|---|---:|---|---|---|")
    for k in TYPES:
        print(f"| {k} | {gold[k]} | {prf_cell(ours, k, True)} | {prf_cell(dt_sc, k, k in ('EMAIL', 'IP_ADDRESS'))} "
              f"| {prf_cell(pr_sc, k, True)} |")
    print(f"\nthresher find_pii: {len(records) / ours_s:,.0f} records/s single process.")


def iban_table(data: Path, pr_py: Path | None, tmp: Path) -> None:
    items = iban_lists(FIX / "stdnum_iban_lists.json")
    ok = 0
    for cand, valid in items:
        found = [s for s in find_pii(cand) if s.type == "IBAN"]
        ok += (bool(found) and found[0].start == 0 and found[0].end == len(cand.rstrip())) == valid
    pr = run_peer(pr_py, PRESIDIO_PEER, "spans", [c for c, _ in items], tmp)
    pr_ok = None
    if pr is not None:
        pr_ok = sum((any(k == "IBAN" and a == 0 and b == len(c.rstrip()) for k, a, b in sp)) == v
                    for (c, v), sp in zip(items, pr))
    n_valid = sum(v for _, v in items)
    print(f"\n### Validator accuracy on python-stdnum's IBAN lists ({len(items)} items: {n_valid} valid, "
          f"{len(items) - n_valid} invalid)\n")
    print("An item counts as right when the whole string is (valid) or is not (invalid) found as one IBAN.\n")
    print("| detector | accuracy |")
    print("|---|---:|")
    print(f"| thresher find_pii | {ok / len(items):.3f} ({ok}/{len(items)}) |")
    print(f"| presidio IbanRecognizer | {f'{pr_ok / len(items):.3f} ({pr_ok}/{len(items)})' if pr_ok is not None else '—'} |")
    print("\n(python-stdnum has no lists for card numbers or the national ids; tests/test_pii.py checks those "
          "against stdnum's documented examples and single-digit corruptions.)")


def detect_secrets_found(samples: Path, files: list[str], config: dict | None) -> list[tuple[str, str]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings, transient_settings

    out = []
    ctx = transient_settings(config) if config else default_settings()
    with ctx:
        for rel in files:
            coll = SecretsCollection()
            coll.scan_file(str(samples / rel))
            for secrets in coll.data.values():
                out += [(rel, s.secret_value) for s in secrets if s.secret_value]
    return out


BIGCODE = {  # bigcode-project/bigcode-dataset pii/utils/keys_detection.py (gibberish model not shipped)
    "plugins_used": [{"name": n} for n in (
        "ArtifactoryDetector", "AWSKeyDetector", "Base64HighEntropyString", "HexHighEntropyString",
        "AzureStorageKeyDetector", "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector",
        "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "MailchimpDetector", "NpmDetector",
        "SendGridDetector", "SlackDetector", "SoftlayerDetector", "StripeDetector", "TwilioKeyDetector")],
    "filters_used": [{"path": f"detect_secrets.filters.heuristic.{f}"} for f in (
        "is_potential_uuid", "is_likely_id_string", "is_templated_secret", "is_sequential_string")],
}


def secrets_table() -> None:
    gold = load_secrets_gold(FIX / "secrets_gold.json")
    samples = FIX / "detect_secrets"
    ours = []
    for rel in gold["files"]:
        text = (samples / rel).read_text(encoding="utf-8")
        ours += [(rel, text[s.start:s.end]) for s in find_secrets(text, rel)]
    rows = [("thresher secrets_redact", ours),
            ("detect-secrets 1.5 (default plugins and filters)", detect_secrets_found(samples, gold["files"], None)),
            ("detect-secrets, BigCode configuration", detect_secrets_found(samples, gold["files"], BIGCODE))]
    print(f"\n### Secrets on detect-secrets' sample files ({len(gold['files'])} files, "
          f"{len(gold['findings'])} expected secrets)\n")
    print("Distinct (file, value) findings against tests/fixtures/pii/secrets_gold.json (detect-secrets' own "
          "baseline.file with three documented corrections).\n")
    print("| detector | TP | FP | FN | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    details = []
    for name, found in rows:
        tp, fp, fn, fps, misses = score_secrets(gold, found)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        print(f"| {name} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} |")
        details.append(f"- {name}: false positives {[v[:24] for _, v in fps]}, misses {[v[:24] for _, v in misses]}")
    print("\n" + "\n".join(details))


def corpus_texts(corpus: Path, mb: float) -> list[str]:
    texts, n = [], 0
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["text"]
            texts.append(t)
            n += len(t.encode("utf-8", "surrogatepass"))
            if n >= mb * 1e6:
                break
    return texts


def run_pipeline(corpus: Path, steps: str, out: Path) -> tuple[float, dict]:
    import thresher
    from thresher.release import Release

    cfg = out.parent / f"{out.name}.yaml"
    cfg.write_text(f"name: bench\ninput: {{path: {corpus}, format: jsonl}}\nsteps: {steps}\n"
                   f"output: {{path: {out}}}\n")
    t0 = time.perf_counter()
    rel = thresher.run(str(cfg), workers=2, progress=False, overwrite=True)
    wall = time.perf_counter() - t0
    st = Release(rel).stats
    return wall, {k: v.to_json() for k, v in st.steps.items()}


def speed_table(corpus: Path, runs: int, peer_mb: float, dt_py: Path | None, pr_py: Path | None, tmp: Path) -> None:
    while Path(str(corpus) + ".building").exists():
        time.sleep(10)
    size = corpus.stat().st_size / 1e6
    work = Path(tempfile.mkdtemp(prefix="pii-bench-", dir=tmp))
    walls, noop = [], []
    steps_json: dict = {}
    for _ in range(runs):
        noop.append(run_pipeline(corpus, "[]", work / "noop")[0])
        w, steps_json = run_pipeline(corpus, "[pii_redact, secrets_redact]", work / "pii")
        walls.append(w)
    text_mb = steps_json["pii_redact"]["bytes_in"] / 1e6
    med, med0 = statistics.median(walls), statistics.median(noop)
    print(f"\n### Throughput on {corpus} ({size:.0f} MB JSONL, {text_mb:.0f} MB of text), 2 workers, "
          f"median of {runs} runs\n")
    print(f"Load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine: "
          "compare ratios, not absolute numbers).\n")
    print("| pipeline | wall s (runs) | MB/s of JSONL | MB/s of text |")
    print("|---|---:|---:|---:|")
    print(f"| thresher read → write, no steps (I/O floor) | {med0:.1f} ({', '.join(f'{x:.1f}' for x in noop)}) "
          f"| {size / med0:.1f} | {text_mb / med0:.1f} |")
    print(f"| thresher read → pii_redact → secrets_redact → write | {med:.1f} ({', '.join(f'{x:.1f}' for x in walls)}) "
          f"| **{size / med:.1f}** | **{text_mb / med:.1f}** |")
    for name in ("pii_redact", "secrets_redact"):
        st = steps_json[name]
        print(f"| … {name} alone, in-step CPU time summed over shards | {st['seconds']:.1f} | — "
              f"| {st['bytes_in'] / 1e6 / st['seconds']:.1f} per core |")
    counters = {k: v for n in ("pii_redact", "secrets_redact") for k, v in steps_json[n]["counters"].items()
                if k.count(":") == 1}
    texts = corpus_texts(corpus, peer_mb)
    mb = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    for label, py, script in (("datatrove PIIFormatter (emails, IPs), Pool(2)", dt_py, DATATROVE_PEER),
                              ("presidio pattern recognizers (6 types), Pool(2)", pr_py, PRESIDIO_PEER)):
        res = run_peer(py, script, "speed", texts, tmp)
        if res is not None:
            s = res["seconds"]  # type: ignore[index]
            print(f"| {label}, first {mb:.0f} MB of text | {s:.1f} | — | {mb / s:.1f} |")
    print(f"\nRedactions in the last run: {json.dumps(dict(sorted(counters.items())))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-mb", type=float, default=20.0, help="MB of corpus text for the peers' speed")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    tmp = Path(tempfile.mkdtemp(prefix="pii-acc-"))
    dt_py = venv_python(".venv-datatrove", "datatrove==0.10.1 regex", "datatrove.pipeline.formatters")
    pr_py = venv_python(".venv-presidio", "presidio-analyzer", "presidio_analyzer")
    print("## thresher PII and secrets benchmark\n")
    presidio_table(args.data, dt_py, pr_py, tmp)
    iban_table(args.data, pr_py, tmp)
    secrets_table()
    if not args.skip_speed and args.corpus.exists():
        speed_table(args.corpus, args.runs, args.peer_mb, dt_py, pr_py, tmp)


if __name__ == "__main__":
    main()
