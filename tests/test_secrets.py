"""secrets_redact: detect-secrets' samples with their expected findings, filters, the step."""
from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from thresher.document import Document
from thresher.pii import SecretsRedact, find_secrets
from thresher.pii.evaluate import load_secrets_gold, score_secrets
from thresher.pii.secret_filters import gibberish_score, is_placeholder
from thresher.steps.base import StepContext

FIX = Path(__file__).parent / "fixtures" / "pii"
SAMPLES = FIX / "detect_secrets"


def found_in_samples() -> list[tuple[str, str]]:
    gold = load_secrets_gold(FIX / "secrets_gold.json")
    out = []
    for rel in gold["files"]:
        text = (SAMPLES / rel).read_text(encoding="utf-8")
        out += [(rel, text[s.start:s.end]) for s in find_secrets(text, rel)]
    return out


def test_precision_and_recall_on_detect_secrets_samples():
    gold = load_secrets_gold(FIX / "secrets_gold.json")
    tp, fp, fn, fps, misses = score_secrets(gold, found_in_samples())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall, fps, misses)


def test_ignored_on_purpose():
    found = dict(found_in_samples())
    values = set(found.values())
    # allowlist pragma, an id-named key, a UUID, a sequential and a placeholder-like AWS id
    assert "12345678901234" not in values
    assert "203db13e-70c7-462b-9a3d-bf32640cb0be" not in values
    assert "abcdefghijklmnop" not in values and "AKIATESTTESTTESTTEST" not in values
    assert not [v for f, v in found_in_samples() if f in ("performance/best-songs.txt", "only_comments.yaml")]
    text = (SAMPLES / "config.ini").read_text()
    hits = [text[s.start:s.end] for s in find_secrets(text)]
    assert hits.count("vh987tyw9ehy8ghis7vwyhiwbwitefy7w3ASDGYDGUASDG") == 1   # not under foreign_key_id


def _token(alphabet: str, n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("line", [
    "GITHUB_TOKEN = '{}'".format("ghp_" + _token(string.ascii_letters + string.digits, 36, 1)),
    "aws_access_key_id = {}".format("AKIA" + _token(string.ascii_uppercase + string.digits, 16, 2)),
    "client = Client(api_key=\"{}\")".format(_token(string.ascii_letters + string.digits, 40, 3)),
    "SLACK = 'xoxb-123456789012-1234567890123-{}'".format(_token(string.ascii_lowercase + string.digits, 24, 4)),
    "DATABASE_URL=postgres://app:{}@db.internal/app".format(_token(string.ascii_letters, 12, 5) + "9"),
    "stripe.api_key = 'sk_live_{}'".format(_token(string.ascii_letters + string.digits, 24, 6)),
])
def test_service_tokens_and_assignments(line):
    spans = find_secrets(line)
    assert spans, line
    assert all(line[s.start:s.end] not in ("api_key", "GITHUB_TOKEN") for s in spans)


@pytest.mark.parametrize("value", ["xxxxxxxxxxxx", "<your-api-key>", "${API_KEY}", "{{ secret }}",
                                   "AKIAIOSFODNN7EXAMPLE", "changeme", "********", "your_password_here"])
def test_placeholders(value):
    assert is_placeholder(value)
    assert find_secrets(f'api_key = "{value}"') == []


def test_gibberish_model_from_detect_secrets():
    assert gibberish_score("thequickbrownfox") < 3.7 < gibberish_score("x9qzk3vw8jyfq2pz")


def test_private_key_body_is_redacted():
    text = (SAMPLES / "files" / "private_key").read_text()
    step = SecretsRedact()
    doc = Document("k", text)
    ctx = StepContext()
    step.process([doc], ctx)
    assert doc.text.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n<KEY>")
    assert doc.text.rstrip().endswith("-----END OPENSSH PRIVATE KEY-----")
    assert ctx.counters["secrets_redact"]["secret:KEY"] == 1
    kind, a, b = doc.meta["secrets_redact_v1"]["spans"][0]
    assert doc.text[a:b] == "<KEY>" and kind == "KEY"


def test_pseudonyms_keep_the_shape(monkeypatch):
    monkeypatch.setenv("THRESHER_PII_SALT", "test-salt")
    text = (SAMPLES / "config.env").read_text()
    doc = Document("e", text)
    next(SecretsRedact(mode="pseudonym")([doc]))
    old, new = text.split("=", 1)[1].strip(), doc.text.split("=", 1)[1].strip()
    assert new != old and len(new) == len(old)
    assert [c.isdigit() for c in new] == [c.isdigit() for c in old]


def test_lock_files_are_left_alone():
    text = 'integrity "sha512-' + _token(string.ascii_letters + string.digits, 60, 7) + '"'
    assert find_secrets(text, "frontend/yarn.lock") == []


def test_both_steps_keep_each_others_offsets():
    from thresher.pii import PiiRedact
    token = "ghp_" + _token(string.ascii_letters + string.digits, 36, 9)
    doc = Document("d", f"mail ops@corp.io\nGITHUB_TOKEN = '{token}'\nand bob@corp.io", meta={"language": "eng"})
    ctx = StepContext()
    PiiRedact().process([doc], ctx)
    SecretsRedact().process([doc], ctx)
    assert doc.text == "mail <EMAIL>\nGITHUB_TOKEN = '<KEY>'\nand <EMAIL>"
    for key in ("pii_redact_v1", "secrets_redact_v1"):
        for kind, a, b in doc.meta[key]["spans"]:
            assert doc.text[a:b] == f"<{kind}>"
    assert ctx.counters["secrets_redact"]["secret:KEY:eng"] == 1


def _plugin_samples():
    import json

    return json.loads((SAMPLES / "plugin_samples.json").read_text())["plugins"]


def test_detect_secrets_is_the_pinned_version():
    """The gate table copies detect-secrets' regexes: the installed version is the one pyproject pins."""
    import importlib.metadata
    import re as _re
    import tomllib

    pins = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(p for p in pins if p.startswith("detect-secrets"))
    assert _re.fullmatch(r"detect-secrets==[\d.]+", pin)
    assert importlib.metadata.version("detect-secrets") == pin.split("==")[1]


def test_detect_secrets_plugin_samples_pass_our_gates():
    """Every positive sample of detect-secrets' own plugin tests reaches its plugin through our gates
    (unless its value is a placeholder the filters drop anyway), and ``find_secrets`` redacts it unless
    the value is a placeholder or reads like words. On main GitHub tokens were never caught (the plugin's
    regex captures only ``ghp``), nor ``--softlayer-api-key VALUE`` and ``clou_pw = VALUE`` (gates)."""
    from detect_secrets import plugins as ds_plugins  # noqa: F401
    from thresher.pii import secret_filters as F
    from thresher.pii import secret_rules as R

    by_name = {type(p).__name__: p for p, _, _ in R._plugins()[0]}
    samples = _plugin_samples()
    assert len(samples) >= 20
    caught = 0
    for name, entry in samples.items():
        plugin = by_name[name]                                   # every sampled plugin is in our table
        for s in entry["samples"]:
            assert plugin.analyze_line(filename="x", line=s), (name, s)      # detect-secrets' own verdict
            values = [s[i:j] for i, j in R.plugin_spans(plugin, s)]
            assert values, (name, s)
            present, _, runs = R.scan_texts([s])[0]
            gated = [l[i:j] for p, _, l in R.gated_lines(s, present, runs) if p is plugin for i, j in R.plugin_spans(p, l)]
            assert gated or all(F.is_placeholder(v) for v in values), (name, s)
            real = [v for v in values if not F.is_placeholder(v) and not F.is_word_like(v)]
            if real:
                spans = find_secrets(s)
                assert any(s[x.start:x.end] in v or v in s[x.start:x.end] for x in spans for v in real), (name, s)
                caught += 1
    assert caught >= 100


@pytest.mark.parametrize("line", ["see 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 here",
                                  "glpat-x9Qm2Kv7Rt4Zp8Lw3Nj6",
                                  "--softlayer-api-key 9f3a81c0d27b4e6a8c5f1d2e7b0a4c6e9d8f7a1b2c3d4e5f6a7b8c9d0e1f2a3b",
                                  "clou_pw 7c0e9a2f41b8d3e6a5c4b7f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0"])
def test_tokens_missed_on_main_are_caught(line):
    spans = find_secrets(line)
    assert spans and max(x.end - x.start for x in spans) >= 20, spans
