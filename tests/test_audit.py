"""thresher audit: counts and intervals against a hand computation; a filter built to drop one
top-level domain is flagged, one built to drop the same share of every group is not."""
import json
import math
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from thresher import run
from thresher.audit import audit, fisher_exact, holm, two_proportion_z, wilson
from thresher.audit.core import region_of

SENTENCES = Path(__file__).parent / "fixtures" / "web" / "lingua_sentences.jsonl"
TLDS = ["com", "ng", "in", "uk", "au", "ke"]


def make_release(tmp_path: Path, filter_opts: str) -> Path:
    """192 real news sentences; sentence i gets TLD i % 6, and ``/odd-`` in its path for every
    second sentence *within* each TLD (so a substring filter on it drops half of every region)."""
    rows = [orjson.loads(line) for line in SENTENCES.read_bytes().splitlines()]
    with open(tmp_path / "in.jsonl", "wb") as f:
        for i, r in enumerate(rows):
            odd = "odd-" if (i // 6) % 2 else ""
            url = f"https://site{i % 4}.example.{TLDS[i % 6]}/news/{odd}{i}"
            f.write(orjson.dumps({"id": f"d{i}", "text": r["text"], "url": url}) + b"\n")
    (tmp_path / "p.yaml").write_text(
        "name: t\ninput: {path: in.jsonl, format: jsonl}\n"
        f"steps:\n  - url_filter: {filter_opts}\n  - length_filter: {{min_chars: 60}}\noutput: {{path: out}}\n")
    return run(tmp_path / "p.yaml", workers=1, progress=False)


def test_wilson_and_tests_match_hand_values():
    # x = n: the lower bound is n / (n + z^2); x = 0: the upper bound is z^2 / (n + z^2)
    z2 = 1.959963984540054 ** 2
    assert wilson(32, 32)[0] == pytest.approx(32 / (32 + z2))
    assert wilson(0, 160)[1] == pytest.approx(z2 / (160 + z2))
    # p = 0.5, n = 100: Wilson's centre is 0.5 and its half-width z*sqrt(.25/100 + z^2/40000)/(1 + z^2/100)
    lo, hi = wilson(50, 100)
    half = 1.959963984540054 * math.sqrt(0.25 / 100 + z2 / 40000) / (1 + z2 / 100)
    assert (lo, hi) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    # 30/100 vs 10/100: pooled p = .2, se = sqrt(.2*.8*(2/100)) = .05657, z = .2/.05657 = 3.5355
    z, p = two_proportion_z(30, 100, 10, 100)
    assert z == pytest.approx(3.5355, abs=1e-4) and p == pytest.approx(math.erfc(3.5355339 / math.sqrt(2)))
    # Fisher's lady tasting tea (4 of 4 cups right): p = 1/70 one-sided, 2/70 two-sided (R's fisher.test)
    assert fisher_exact(4, 4, 4, 8) == pytest.approx(2 / 70)
    assert fisher_exact(3, 4, 4, 8) == pytest.approx(34 / 70)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_region_from_cctld():
    assert region_of("https://www.punchng.com.ng/x") == "ng"
    assert region_of("http://example.com/") == ".com"
    assert region_of(None) == "(no url)"


def test_tld_filter_is_flagged_with_hand_counted_rates(tmp_path):
    out = make_release(tmp_path, "{tlds: [ng]}")
    rep = audit(out, by=["region", "source"])
    rows = {(r["step"], r["dimension"], r["group"]): r for r in rep["groups"]}
    # by hand: 192 sentences, 32 per TLD; the url filter drops all 32 of .ng and nothing else
    ng = rows[("url_filter", "region", "ng")]
    assert (ng["docs_in"], ng["dropped"]) == (32, 32)
    assert ng["ci"][0] == pytest.approx(32 / (32 + 1.959963984540054 ** 2))
    uk = rows[("url_filter", "region", "uk")]
    assert (uk["docs_in"], uk["dropped"], uk["rate"]) == (32, 0, 0.0)
    assert ng["chars_dropped"] == ng["chars_in"] > 0
    flagged = {(r["step"], r["dimension"], r["group"]) for r in rep["flagged"]}
    assert ("url_filter", "region", "ng") in flagged
    # the other regions lose nothing while the rest loses 32/160: flagged too, as dropped less often
    assert all(rows[("url_filter", "region", t)]["z"] < 0 for t in ["in", "uk", "au", "ke", ".com"])
    # the release-wide row: 32 of 192 dropped
    overall = rep["overall"][0]
    assert (overall["docs_in"], overall["dropped"]) == (192, 32)
    # the length filter sees only the 160 survivors; hand count from the input
    texts = [orjson.loads(l)["text"] for l in SENTENCES.read_bytes().splitlines()]
    survivors = [t for i, t in enumerate(texts) if i % 6 != 1]
    short = sum(len(t) < 60 for t in survivors)
    lf = rep["overall"][1]
    assert (lf["docs_in"], lf["dropped"]) == (160, short)


def test_balanced_filter_is_not_flagged(tmp_path):
    out = make_release(tmp_path, '{substrings: ["/odd-"]}')
    rep = audit(out, by=["region"])
    url = [r for r in rep["groups"] if r["step"] == "url_filter"]
    assert len(url) == 6 and all((r["docs_in"], r["dropped"]) == (32, 16) for r in url)
    assert not [r for r in rep["flagged"] if r["step"] == "url_filter"]


def test_cli_json_and_bad_dimension(tmp_path):
    from thresher.cli import app
    import thresher.audit.commands  # noqa: F401  (registers the command)

    out = make_release(tmp_path, "{tlds: [ng]}")
    res = CliRunner().invoke(app, ["audit", str(out), "--by", "region", "--json", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "ng" in res.output and "Holm" in res.output
    saved = json.loads((tmp_path / "a.json").read_text())
    first = saved["flagged"][0]
    assert (first["step"], first["group"]) == ("url_filter", "ng") and first["z"] > 0
    res = CliRunner().invoke(app, ["audit", str(out), "--by", "planet"])
    assert res.exit_code != 0


def test_card_section_and_figure(tmp_path):
    from thresher.card import write_card

    out = make_release(tmp_path, "{tlds: [ng]}")
    text = write_card(out).read_text()
    section = text[text.index("## Who the filters removed"):text.index("## Data measurements")]
    assert "| url_filter | region | ng | 32 | 32 | 100.0% [89.3, 100.0] | 0.0% |" in section
    assert "![Who the filters removed](audit.png)" in section
    assert (out / "card" / "audit.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "card" / "audit.json").read_text())["flagged"][0]["group"] == "ng"
    assert "| unknown |" in text[text.index("## Data measurements"):]   # no language_id in this pipeline
