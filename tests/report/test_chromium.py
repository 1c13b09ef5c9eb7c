"""The HTML report in a real headless Chromium: everything renders, nothing is fetched.

A copy of the report gets a small script that, on ``load``, writes what the browser sees
(sizes of sections and images, decoded image sizes, Resource Timing entries) into a
``<pre>``; ``--dump-dom`` hands that back. The report itself contains no script.

Debian's ``chromium`` package provides the browser (``apt-get install -y chromium``). The
real binary is called directly: Debian's ``/usr/bin/chromium`` wrapper adds flags that
enable extension updates.
"""

from __future__ import annotations

import html as html_lib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image


def find_chromium() -> str | None:
    override = os.environ.get("TTS_CHROMIUM")
    if override:
        return override
    for candidate in ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser"):
        if os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (Debian: apt-get install -y chromium; or set TTS_CHROMIUM)",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]

CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  const box = (el) => {
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return {width: r.width, height: r.height,
            visible: s.display !== "none" && s.visibility !== "hidden" && s.opacity !== "0"};
  };
  const out = {
    sections: [...document.querySelectorAll("section.spec")].map((s) => ({
      spec: s.dataset.spec, plots: s.querySelectorAll("img.tts-plot").length,
      tables: s.querySelectorAll("table.expectations tr.expectation").length,
      source: s.querySelectorAll(".tts-src").length, ...box(s)})),
    images: [...document.querySelectorAll("img")].map((i) => ({
      unit: i.dataset.unit || "", complete: i.complete,
      natural_width: i.naturalWidth, natural_height: i.naturalHeight, ...box(i)})),
    resources: performance.getEntriesByType("resource").map((r) => r.name),
    page_height: document.documentElement.scrollHeight,
  };
  const pre = document.createElement("pre");
  pre.id = "tts-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def run_chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    assert CHROMIUM is not None
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def browser_view(tmp_path: Path, page_html: str, *extra: str, name: str = "check") -> dict:
    """What the browser sees of ``page_html``, from the injected check script."""
    page = tmp_path / f"{name}.html"
    page.write_text(page_html.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    proc = run_chromium(tmp_path, page.as_uri(), "--window-size=1280,1000", "--dump-dom", *extra)
    match = re.search(r'<pre id="tts-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"the check script did not run; stderr: {proc.stderr[-2000:]}"
    view: dict[str, Any] = json.loads(html_lib.unescape(match.group(1)))
    return view


def test_every_spec_section_and_plot_renders(report_html: str, results, tmp_path) -> None:
    view = browser_view(tmp_path, report_html)
    assert [s["spec"] for s in view["sections"]] == [s.name for s in results.specs]
    for section, spec in zip(view["sections"], results.specs, strict=True):
        assert section["visible"]
        assert section["height"] > 500
        assert section["plots"] == 3
        assert section["tables"] == len(spec.expectations)
        assert section["source"] == 1
    assert len(view["images"]) == 6
    for image in view["images"]:
        assert image["complete"]
        assert image["visible"]
        assert image["natural_width"] >= 400  # the PNG decoded
        assert image["natural_height"] >= 250
        assert image["width"] >= 400  # and is laid out at a readable size
    assert view["resources"] == []


def test_screenshot_of_the_report(report_html: str, tmp_path) -> None:
    """A full-page screenshot, kept as a test artifact (and in $TTS_ARTIFACTS_DIR if set)."""
    report = tmp_path / "report.html"
    report.write_text(report_html, encoding="utf-8")
    height = min(browser_view(tmp_path, report_html)["page_height"] + 40, 16_000)
    shot = tmp_path / "report-screenshot.png"
    run_chromium(tmp_path, report.as_uri(), f"--window-size=1280,{height}", f"--screenshot={shot}")
    with Image.open(shot) as picture:
        assert picture.size == (1280, height)
        rgb = picture.convert("RGB")
        # not blank: the header, the plots and the coloured badges give many colours
        assert len(rgb.getcolors(1 << 24) or []) > 1000
        # the failed spec's red left border is drawn near the top of the first section
        red = (207, 34, 46)  # #cf222e
        reds = [
            (x, y)
            for x in range(20, 80)
            for y in range(300, 900, 10)
            if all(abs(a - b) <= 8 for a, b in zip(rgb.getpixel((x, y)), red, strict=True))
        ]
        assert reds, "the failed spec's red border was not found"
    artifacts = os.environ.get("TTS_ARTIFACTS_DIR")
    if artifacts:
        target = Path(artifacts)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / shot.name)
        shutil.copy(report, target / "report.html")


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A proxy that answers nothing: it records each request and fails it."""

    seen: list[tuple[str, str]]

    def _record(self) -> None:
        self.server.seen.append((self.command, self.path))  # type: ignore[attr-defined]
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = do_CONNECT = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_proxy() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


# Chromium itself contacts its update and account services whatever the flags; those
# requests come from the browser, not the page (the page contains no URL at all).
BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com")


def _hosts(seen: list[tuple[str, str]]) -> set[str]:
    hosts = set()
    for method, target in seen:
        if method == "CONNECT":
            hosts.add(target.rsplit(":", 1)[0])
        else:
            hosts.add(re.sub(r"^\w+://", "", target).split("/", 1)[0].split(":", 1)[0])
    return hosts


def _page_hosts(seen: list[tuple[str, str]]) -> set[str]:
    return {h for h in _hosts(seen) if not h.endswith(BROWSER_HOSTS)}


def test_the_report_makes_no_network_requests(
    report_html: str, tmp_path, recording_proxy: tuple[str, list[tuple[str, str]]]
) -> None:
    proxy, seen = recording_proxy
    isolate = (
        f"--proxy-server={proxy}",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    )
    # positive control: the same page with two external images is caught both ways
    probe = '<img src="http://probe.invalid/a.png"><img src="https://probe2.invalid/b.png">'
    leaky = browser_view(tmp_path, report_html.replace("</main>", probe + "</main>"), *isolate)
    assert sorted(leaky["resources"]) == [
        "http://probe.invalid/a.png",
        "https://probe2.invalid/b.png",
    ]
    assert _page_hosts(seen) == {"probe.invalid", "probe2.invalid"}
    seen.clear()

    view = browser_view(tmp_path, report_html, *isolate, name="isolated")
    assert view["resources"] == []  # the page requested nothing
    assert _page_hosts(seen) == set()  # and nothing reached the network on its behalf
    # while every plot still rendered with the network unreachable
    assert len(view["images"]) == 6
    assert all(i["natural_width"] >= 400 and i["visible"] for i in view["images"])
