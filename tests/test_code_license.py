"""License detection against licensee's labelled fixtures and choosealicense texts, SPDX expressions,
file headers from real source files, and the license policy filter."""
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from thresher.code import spdx
from thresher.code.license import (LicenseDetect, LicenseFilter, detect_folder, file_license, repo_evidence,
                                   repo_license)
from thresher.code.licensedb import index
from thresher.document import Document
from thresher.steps.base import Drop

FX = Path(__file__).parent / "fixtures" / "code"

# The one fixture where we knowingly differ from licensee: an R package whose DESCRIPTION says
# "License: MIT + file LICENSE" and whose LICENSE only names the holder (R's convention for MIT).
KNOWN_DIFFERENCES = {"description-license": ("other", "mit")}


@pytest.fixture(scope="module")
def licensee(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("licensee")
    with tarfile.open(FX / "licensee_fixtures.tar.xz") as t:
        t.extractall(d, filter="data")
    return d


def licensee_key(expr: str | None, known: set[str]) -> str | None:
    """Map our SPDX answer to licensee's vocabulary: its 47 keys, "other" for anything else or for a
    combination, "no-license" for copyright-only."""
    if expr is None:
        return None
    if expr == "NONE":
        return "no-license"
    if " " in expr:
        return "other"
    k = expr.lower().removesuffix("-only")
    return k if k in known else "other"


def test_licensee_fixtures(licensee):
    root = licensee / "spec" / "fixtures"
    gold = yaml.safe_load((root / "fixtures.yml").read_text())
    known = {p.stem for p in (licensee / "vendor/choosealicense.com/_licenses").glob("*.txt")}
    results = {}
    for name, g in gold.items():
        if (root / name).is_dir():
            expr, _, _ = detect_folder(root / name)
            results[name] = (g["key"], licensee_key(expr, known))
    misses = {n: r for n, r in results.items() if r[0] != r[1]}
    assert len(results) == 63
    assert misses == KNOWN_DIFFERENCES
    assert (len(results) - len(misses)) / len(results) >= 0.95


def test_choosealicense_texts_without_front_matter(licensee):
    texts = sorted((licensee / "vendor/choosealicense.com/_licenses").glob("*.txt"))
    misses = []
    for p in texts:
        fm = re.match(r"^---\n(.*?)\n---\n", p.read_text(), re.S)
        want = spdx.canonical_id(re.search(r"^spdx-id:\s*(\S+)", fm.group(1), re.M).group(1))
        got = [m.spdx for m in index().match(p.read_text()[fm.end():])]
        if got != [want]:
            misses.append((p.stem, want, got))
    # choosealicense ships CeCILL-2.1 in French; the SPDX text is the English version.
    assert misses == [("cecill-2.1", "CECILL-2.1", [])]
    assert len(texts) == 47


def test_modified_licenses_are_not_the_original(licensee):
    root = licensee / "spec" / "fixtures"
    for name, base in [("wrk-modified-apache", "Apache-2.0"), ("fcpl-modified-mpl", "MPL-2.0")]:
        text = (root / name / "LICENSE").read_text()
        (m,) = index().match(text)
        assert m.spdx == f"LicenseRef-modified-{base}" and m.matcher == "modified"
        assert index().similarity(text, base) > 0.9        # similar, yet it adds terms of its own


def test_repo_level_combinations(licensee, tmp_path):
    root = licensee / "spec" / "fixtures"
    assert detect_folder(root / "lgpl")[0] == "LGPL-3.0-only"                 # GPL text + COPYING.lesser
    assert detect_folder(root / "multiple-license-files")[0] == "MIT AND MPL-2.0"
    assert detect_folder(root / "copyright-encoding")[0] == "NONE"           # copyright only
    assert detect_folder(root / "license-folder")[0] is None
    mit = (root / "mit" / "LICENSE.txt").read_bytes()
    apache = (root / "apache-2.0_markdown" / "LICENSE.md").read_bytes()
    # Rust's dual-license convention, and a package manifest that states the choice
    assert repo_license(repo_evidence({"LICENSE-MIT": mit, "LICENSE-APACHE": apache}))[0] == "Apache-2.0 OR MIT"
    ev = repo_evidence({"LICENSE": mit, "package.json": b'{"name": "x", "license": "(MIT OR ISC)"}'})
    assert repo_license(ev)[0] == "MIT OR ISC"
    ev = repo_evidence({"Cargo.toml": b'[package]\nname = "x"\nlicense = "MIT/Apache-2.0"\n', "LICENSE": mit})
    assert repo_license(ev)[0] == "MIT OR Apache-2.0"        # Cargo's legacy "/" means OR


def test_spdx_expressions():
    e = spdx.parse("mit OR (Apache-2.0 AND GPL-2.0+)")
    assert spdx.render(e) == "MIT OR (Apache-2.0 AND GPL-2.0-or-later)"
    assert spdx.ids(e) == ["MIT", "Apache-2.0", "GPL-2.0-or-later"]
    w = spdx.parse("GPL-2.0 WITH Classpath-exception-2.0")
    assert spdx.render(w) == "GPL-2.0-only WITH Classpath-exception-2.0"
    allowed = {"MIT", "Apache-2.0"}.__contains__
    assert spdx.evaluate(e, allowed)                                   # the MIT branch suffices
    assert not spdx.evaluate(spdx.parse("MIT AND GPL-3.0-only"), allowed)
    for bad in ("MIT OR", "(MIT", "AND MIT", "MIT Apache-2.0"):
        with pytest.raises(ValueError):
            spdx.parse(bad)


EXPECTED_HEADERS = {
    "attr_filters.py": ("MIT", "spdx-tag"),
    "moto_cfnresponse.py": ("MIT-0", "spdx-tag"),
    "boto3_ec2_init.py": ("Apache-2.0", "header-reference"),
    "boto_ec2_image.py": ("MIT", "header-text"),
    "packaging_licenses_init.py": ("MIT", "header-text"),
    "packaging_structures.py": ("Apache-2.0", "header-reference"),   # "...and the BSD License": no version
}


@pytest.mark.parametrize("name", sorted(EXPECTED_HEADERS))
def test_real_file_headers(name):
    expr, conf, how = file_license((FX / "headers" / name).read_text() + "\nimport os\n")
    assert (expr, how) == EXPECTED_HEADERS[name] and conf >= 0.9


def test_notice_headers(licensee):
    asf = "\n".join("# " + ln for ln in (FX / "headers" / "asf_license.header").read_text().splitlines())
    assert file_license(asf + "\n\nimport os\n")[0] == "Apache-2.0"
    gpl = (licensee / "spec/fixtures/gpl-3.0_markdown/LICENSE.md").read_text()
    notice = re.search(r"This program is free software.*?any later version\.", gpl, re.S).group(0)
    c_header = "/*\n * " + notice.replace("\n", "\n * ") + "\n */\n#include <stdio.h>\n"
    assert file_license(c_header)[0] == "GPL-3.0-or-later"
    only2 = notice.replace("either version 3 of the License, or\n    (at your option) any later version", "version 2")
    assert file_license("// " + only2.replace("\n", "\n// ") + "\nint x;\n")[0] == "GPL-2.0-only"
    assert file_license("import os\n# Licensed under the MIT License\n") is None     # not a header


def test_license_detect_step(licensee):
    mit = (licensee / "spec/fixtures/mit/LICENSE.txt").read_bytes()
    ev = repo_evidence({"LICENSE.txt": mit})
    own = (FX / "headers" / "boto3_ec2_init.py").read_text() + "\nimport os\n"
    docs = [Document("a", "def f():\n    return 1\n", {"language": "Python", "license_evidence": ev}, {}),
            Document("b", own, {"language": "Python", "license_evidence": ev}, {}),
            Document("c", "x = 1\n", {"language": "Python"}, {})]
    out = list(LicenseDetect()(docs))
    assert [(d.meta["license"], d.meta["repo_license"]) for d in out] == [
        ("MIT", "MIT"), ("Apache-2.0", "MIT"), (None, None)]
    assert out[1].meta["license_detect_v1"]["source"] == "header-reference"
    assert out[0].meta["license_detect_v1"]["repo_files"] == ["LICENSE.txt"]


def test_license_filter_policy():
    def verdict(f: LicenseFilter, lic):
        r = f.decide(Document("x", "", {}, {"license": lic, "repo_license": lic}))
        return r.reason if isinstance(r, Drop) else "keep"

    stack = LicenseFilter()
    assert verdict(stack, "MIT") == "keep"
    assert verdict(stack, "GPL-3.0-only") == "license_not_allowed:GPL-3.0-only"
    assert verdict(stack, "MIT OR GPL-3.0-only") == "keep"
    assert verdict(stack, "MIT AND GPL-3.0-only") == "license_not_allowed:MIT AND GPL-3.0-only"
    assert verdict(stack, "MPL-2.0") == "license_not_allowed:MPL-2.0"       # weak copyleft left out (v1.1)
    assert verdict(stack, None) == "license_unknown"
    assert verdict(stack, "NONE") == "license_not_allowed:NONE"
    assert verdict(LicenseFilter(keep_unknown=True), "LicenseRef-unknown") == "keep"
    assert verdict(LicenseFilter(allow=["mpl-2.0"]), "MPL-2.0") == "keep"     # ids are case-insensitive
    assert verdict(LicenseFilter(deny=["MIT"]), "MIT") == "license_not_allowed:MIT"
    assert verdict(LicenseFilter(preset="permissive"), "BSL-1.0") == "keep"
    assert verdict(stack, "BSL-1.0") == "license_not_allowed:BSL-1.0"
