"""The inspector in a real browser: Debian's headless Chromium, driven by Selenium.

`localaik serve` runs as a process in front of the fake llama-server: first in record mode, to
record a few answers (a stream paced by the fake, a prompt holding HTML and script), then in
replay mode, where the pages are opened, filtered and followed like a person would, and a miss
made by the OpenAI SDK must appear on "This run" without a reload, then open beside its nearest
recording. A screenshot of each view is kept in `artifacts/inspector/` (gitignored).

Skipped, saying why, without /usr/bin/chromium and /usr/bin/chromedriver (`make system-deps`
installs them) or the `selenium` package (the `test` extras).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.inspector.conftest import REQUESTS, SCRIPT
from tests.support import LocalaikProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "inspector"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "no /usr/bin/chromium or /usr/bin/chromedriver: `make system-deps` installs Debian's "
        "chromium and chromium-driver",
        allow_module_level=True,
    )

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cassette(fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cassette recorded through `localaik serve` from the fake (the stream paced 30 ms a
    frame, so its timeline has a shape)."""
    path = tmp_path_factory.mktemp("inspector") / "cassettes" / "recorded.db"
    env = {
        "LK_UPSTREAM": fake_llama_process.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(path),
    }
    with LocalaikProcess(env) as server:
        for route, body, headers in REQUESTS:
            if body.get("stream"):
                body = {**body, "messages": [{"role": "user", "content": "[[slow:30]] count"}]}
            answer = httpx.post(server.url + route, json=body, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
    return path


@pytest.fixture(scope="module")
def replaying(cassette: Path) -> Iterator[LocalaikProcess]:
    with LocalaikProcess({"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}) as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def rows(driver: Any) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, "table.recordings tbody tr"))


def test_cassettes_page_and_filter(browser: Any, replaying: LocalaikProcess) -> None:
    assert f"inspector on {replaying.url}/_localaik/" in replaying.log()
    browser.get(replaying.url + "/_localaik/")
    assert "recorded.db: 4 of 4 recordings" in browser.find_element(By.TAG_NAME, "main").text
    assert len(rows(browser)) == 4
    shot(browser, "cassettes")
    browser.find_element(By.NAME, "family").send_keys("openai")
    browser.find_element(By.NAME, "q").send_keys("count")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    WebDriverWait(browser, 10).until(lambda d: "q=count" in d.current_url)
    [row] = rows(browser)
    assert "openai" in row.text and "stream" in row.text
    shot(browser, "cassettes-filtered")


def test_a_stream_recording_shows_its_timeline(browser: Any, replaying: LocalaikProcess) -> None:
    browser.get(replaying.url + "/_localaik/?q=count")
    [row] = rows(browser)
    row.find_element(By.LINK_TEXT, "open").click()
    svg = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "svg.timeline")
    )
    assert svg.size["width"] > 300
    offsets = [
        float(rect.get_attribute("data-offset"))
        for rect in browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect")
    ]
    assert len(offsets) > 3
    assert offsets[-1] - offsets[0] >= 60  # frames 30 ms apart, as recorded
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Answer, as the client sees it" in main and "Provenance" in main
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg.timeline text.said")]
    assert "".join(labels).startswith("Echo:")  # each frame's text, in order (trimmed)
    browser.execute_script("window.scrollTo(0, arguments[0] - 60)", svg.location["y"])
    shot(browser, "recording-stream")


def test_a_recording_holding_script_renders_inert(browser: Any, replaying: LocalaikProcess) -> None:
    browser.get(replaying.url + "/_localaik/?q=pwned")
    [row] = rows(browser)
    row.find_element(By.LINK_TEXT, "open").click()
    WebDriverWait(browser, 10).until(lambda d: "Provenance" in d.page_source)
    assert "pwned" not in browser.title
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    user = browser.find_element(By.CSS_SELECTOR, ".turn.user .text")
    assert user.text == SCRIPT  # shown as the text it is
    scripts = [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")]
    assert scripts == [replaying.url + "/_localaik/static/inspector.js"]
    shot(browser, "recording-script-inert")


def test_a_miss_from_the_sdk_appears_live_and_opens_with_its_diff(
    browser: Any, replaying: LocalaikProcess
) -> None:
    browser.get(replaying.url + "/_localaik/run")
    browser.execute_script("window.notReloaded = true")
    client = openai.OpenAI(base_url=replaying.url + "/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "a question never recorded"}]
        )
    link = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.LINK_TEXT, "beside its nearest")
    )
    assert browser.execute_script("return window.notReloaded") is True  # no reload
    listed = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".outcome")]
    # Newest first: the SDK's miss (headless Chromium's own GET /favicon.ico may follow it).
    assert listed[0] == "miss" and "hit" not in listed
    shot(browser, "this-run")
    link.click()
    marks = WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "mark.differs")
    )
    paths = {mark.get_attribute("data-path") for mark in marks}
    assert "messages[0].content" in paths
    assert "a question never recorded" in browser.find_element(By.CSS_SELECTOR, ".ours").text
    shot(browser, "miss")


def test_screenshots_were_kept() -> None:
    kept = {path.stem for path in ARTIFACTS.glob("*.png")}
    assert {"cassettes", "recording-stream", "this-run", "miss"} <= kept
