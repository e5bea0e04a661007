"""The HTML inventory: valid HTML5 (html5lib, strict), one self-contained
file that references nothing it would load (no `src`, no `<link>`, no
`@import` or `url(` in its style, a Content-Security-Policy that allows
only its own inline style and script), every key in its table, values from
the code escaped; and, when Chromium and Selenium are installed, the page
opened from a file in headless Chromium, sorted and filtered.

What counts as an external reference: anything the browser would *load*.
Links (`<a href>`) to the iackms rule documentation are references a reader
may follow, not resources of the page; they are the only absolute URLs."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from iackms.config import Config
from iackms.engine import run
from iackms.inventory import build
from iackms.reporters import render_inventory
from test_inventory import CORPUS, REALWORLD, ROOT

html5lib = pytest.importorskip("html5lib")

NS = "{http://www.w3.org/1999/xhtml}"
DOCS = "https://github.com/iackms/iackms/blob/main/docs/rules/"


def inventory(path: str, cwd: Path, cfg: Config | None = None) -> dict:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = run([path], cfg or Config())
        return build(r.unit, r.report, r.keys())
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def page() -> tuple[dict, str]:
    if REALWORLD.is_dir():
        inv = inventory("realworld", CORPUS)
    else:
        inv = inventory("examples", ROOT)
    return inv, render_inventory("html", inv)


def parse(text: str):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(text)


def test_valid_html5(page):
    _, text = page
    doc = parse(text)  # strict: raises on any parse error
    assert doc.find(f"{NS}head/{NS}title").text == "KMS key inventory"


def _csp(doc) -> str:
    for m in doc.iter(f"{NS}meta"):
        if m.get("http-equiv", "").lower() == "content-security-policy":
            return m.get("content")
    raise AssertionError("no Content-Security-Policy")


def test_self_contained(page):
    _, text = page
    doc = parse(text)
    loaders = {"script": "src", "img": "src", "iframe": "src", "frame": "src", "embed": "src", "object": "data", "audio": "src",
               "video": "src", "source": "src", "track": "src", "input": "src", "link": "href", "use": "href", "image": "href"}
    for el in doc.iter():
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        assert tag not in ("link", "iframe", "frame", "object", "embed", "img", "base"), tag
        if tag in loaders:
            assert el.get(loaders[tag]) is None, (tag, el.attrib)
        for attr, value in el.attrib.items():
            name = attr.rsplit("}", 1)[-1]
            if name in ("src", "srcset", "poster", "background", "data", "xlink:href") or (name == "href" and tag != "a"):
                raise AssertionError(f"<{tag} {name}={value!r}> would load something")
            if name == "href" and re.match(r"[a-z][a-z0-9+.-]*:", value, re.I):
                assert value.startswith(DOCS) and value.endswith(".md"), value  # only the rule docs, as links
        if tag == "style":
            assert "url(" not in el.text and "@import" not in el.text
            # a URL in any other attribute (data-search holds the code's own values, lower-cased) is data, never
            # something loaded: only src/href-like attributes load, and those are checked above
    # URLs in the text are values from the code under review (a tag, a description), shown as text
    # the browser itself refuses any load: only the inline style and script, by their hashes
    csp = _csp(doc)
    assert "default-src 'none'" in csp
    style = doc.find(f"{NS}head/{NS}style").text
    script = [s for s in doc.iter(f"{NS}script")]
    assert len(script) == 1 and script[0].get("src") is None
    for body, directive in ((style, "style-src"), (script[0].text, "script-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp


def test_table_holds_every_key(page):
    inv, text = page
    doc = parse(text)
    table = next(t for t in doc.iter(f"{NS}table") if t.get("id") == "keys")
    rows = table.findall(f"{NS}tbody/{NS}tr")
    assert len(rows) == len(inv["keys"]) == inv["summary"]["keys"]
    for row, key in zip(rows, inv["keys"]):
        assert "".join(row.itertext()).count(key["address"]) >= 1
    panels = [a for a in doc.iter(f"{NS}article") if (a.get("id") or "").startswith("key-")]
    assert len(panels) == len(inv["keys"])
    # each panel has its access matrix (principals × administer / use / create grants), unless the policy is unknown
    for panel, key in zip(panels, inv["keys"]):
        heads = [th.text for th in panel.iter(f"{NS}th") if th.get("scope") == "col"]
        if key["access"]["principals"]:
            assert heads[:4] == ["Principal", "Administer", "Use", "Create grants"]


def test_chart_is_inline_svg(page):
    inv, text = page
    doc = parse(text)
    svgs = list(doc.iter("{http://www.w3.org/2000/svg}svg"))
    if not inv["summary"]["findings"]["total"]:
        assert not svgs
        return
    assert len(svgs) == 1
    bars = [r for r in svgs[0].iter("{http://www.w3.org/2000/svg}rect")]
    titles = ["".join(r.itertext()) for r in bars]
    for sev, n in inv["summary"]["findings"]["by_severity"].items():
        if n:
            assert f"{sev}: {n} {sev}" in titles
    for rid in inv["summary"]["findings"]["by_rule"]:
        assert any(t.startswith(f"{rid}: ") for t in titles), rid


def test_values_from_the_code_are_escaped(tmp_path):
    (tmp_path / "t.yaml").write_text('''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
      Tags:
        - Key: "<b>owner</b>"
          Value: "\\" onmouseover=\\"alert(3)"
''', encoding="utf-8")
    text = render_inventory("html", inventory("t.yaml", tmp_path, Config(profile="strict")))
    parse(text)
    assert "<script>alert" not in text and "<img" not in text and "<b>owner" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in text
    assert text.count("<script>") == 1


def test_empty_scan(tmp_path):
    text = render_inventory("html", inventory(".", tmp_path))
    parse(text)
    assert "No KMS keys in the scan." in text


# --- a real browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium and ChromeDriver are not installed (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install 'iackms[browser]')")
    from selenium.webdriver.chrome.service import Service

    import tempfile

    profile = tempfile.mkdtemp(prefix="iackms-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as e:  # a browser that cannot start here is not a failure of the page
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"headless Chromium did not start: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_browser_sorts_and_filters(browser, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    inv, text = page
    f = tmp_path / "inventory.html"
    f.write_text(text, encoding="utf-8")
    browser.get(f.as_uri())
    assert browser.title == "KMS key inventory"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # a CSP violation (a blocked load or script) would show here

    def rows():
        return [r for r in browser.find_elements(By.CSS_SELECTOR, "#keys tbody tr") if r.is_displayed()]

    def col(name):
        heads = [h.text.strip() for h in browser.find_elements(By.CSS_SELECTOR, "#keys thead th")]
        return heads.index(name)

    n = len(inv["keys"])
    assert len(rows()) == n
    count = browser.find_element(By.ID, "count")
    assert count.text == f"{n} of {n} keys shown"

    # sort by key address, ascending then descending
    i = col("Key")
    header = browser.find_elements(By.CSS_SELECTOR, "#keys thead th")[i]
    header.find_element(By.TAG_NAME, "button").click()
    names = [r.find_elements(By.TAG_NAME, "td")[i].text for r in rows()]
    assert names == sorted(names, key=str.lower) and header.get_attribute("aria-sort") == "ascending"
    header.find_element(By.TAG_NAME, "button").click()
    names = [r.find_elements(By.TAG_NAME, "td")[i].text for r in rows()]
    assert names == sorted(names, key=str.lower, reverse=True) and header.get_attribute("aria-sort") == "descending"

    # sort by findings, numerically (worst severity, then count)
    j = col("Findings")
    browser.find_elements(By.CSS_SELECTOR, "#keys thead th")[j].find_element(By.TAG_NAME, "button").click()
    keys = [float(r.find_elements(By.TAG_NAME, "td")[j].get_attribute("data-sort")) for r in rows()]
    assert keys == sorted(keys)

    # filter by text: one key's address
    target = inv["keys"][0]["address"]
    want = sum(1 for k in inv["keys"] if target.lower() in " ".join([k["address"], k["file"]]).lower()) or 1
    box = browser.find_element(By.ID, "filter")
    box.send_keys(target)
    shown = rows()
    assert 1 <= len(shown) and all(target.lower() in r.get_attribute("data-search") for r in shown)
    assert len(shown) >= want and count.text == f"{len(shown)} of {n} keys shown"
    box.clear()
    box.send_keys("no key has this text")
    assert rows() == [] and count.text == f"0 of {n} keys shown"
    box.clear()
    box.send_keys(" ")  # clear() does not fire input events: type and delete
    box.send_keys("\b")
    assert len(rows()) == n

    # filter by source and by the worst finding
    sources = {k["source"] for k in inv["keys"]}
    src = sorted(sources)[0]
    Select(browser.find_element(By.ID, "source")).select_by_value(src)
    assert len(rows()) == sum(1 for k in inv["keys"] if k["source"] == src)
    Select(browser.find_element(By.ID, "source")).select_by_value("")
    Select(browser.find_element(By.ID, "severity")).select_by_value("3")  # high or worse
    assert len(rows()) == sum(1 for k in inv["keys"] if k["findings"]["worst"] in ("critical", "high"))
    Select(browser.find_element(By.ID, "severity")).select_by_value("none")
    assert len(rows()) == sum(1 for k in inv["keys"] if not k["findings"]["total"])

    # a key's link opens its panel
    Select(browser.find_element(By.ID, "severity")).select_by_value("")
    first = rows()[0].find_element(By.CSS_SELECTOR, "td a[href^='#key-']")
    anchor = first.get_attribute("href").rsplit("#", 1)[1]
    first.click()
    assert browser.execute_script("return location.hash") == "#" + anchor
    panel = browser.find_element(By.ID, anchor)
    assert panel.is_displayed() and panel.find_element(By.TAG_NAME, "h3").text.split(". ", 1)[1].startswith(first.text)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
