"""End to end in a real headless browser: ``handwriting serve`` with the shipped model, the page
writes a line, shows an error, a sample drawn on the canvas with pointer events becomes a style,
and a letter on A5 paper downloads as a PDF with a page per sheet.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``; ``.ci/run``
installs them, and in CI the test fails without them) and selenium; elsewhere it is skipped with
the reason when they are missing.
``HANDWRITING_WEB_SCREENSHOT=docs/web.png`` also saves the README's screenshot of the page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: Loading the model and warming it up (TensorFlow may compile) takes a while on a small CPU.
SERVER_START_TIMEOUT_S = 240
WRITE_TIMEOUT_S = 120
WINDOW_SIZE = (1200, 860)
#: The README's screenshot: the page's upper part, with a written note.
SCREENSHOT_SIZE = (1100, 600)
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}"]


def find_browser() -> tuple[str, str]:
    """Chromium (or Chrome) and its driver, or skip with the reason."""
    pytest.importorskip("selenium", reason="the browser test needs selenium (pip install selenium)")
    browser = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = "no browser found: install chromium and chromium-driver (Debian) for the browser test"
        if os.environ.get("CI"):  # .ci/run installs them: in CI this test must run
            pytest.fail(reason)
        pytest.skip(reason)
    return browser, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``handwriting serve`` in a subprocess, with its own user data folder; yields (url, user dir)."""
    find_browser()
    user_dir = tmp_path_factory.mktemp("user")
    port = free_port()
    env = dict(os.environ, HANDWRITING_USER_DIR=str(user_dir), PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("log") / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "handwriting", "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while "serving on" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"handwriting serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/", user_dir
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.download_dir = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def set_value(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def set_speed(driver, speed: float) -> None:
    driver.execute_script("const s = document.getElementById('speed'); s.value = arguments[0];"
                          "s.dispatchEvent(new Event('input'));", str(speed))


def write_and_wait(driver) -> list[str]:
    """Click Write; wait for the drawing to finish; return its paths' data."""
    from selenium.webdriver.common.by import By

    driver.execute_script("document.getElementById('drawing').dataset.state = 'waiting';")
    driver.find_element(By.ID, "write").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "drawing").get_attribute("data-state") == "done"
             or d.find_element(By.ID, "error").is_displayed(), WRITE_TIMEOUT_S)
    assert not driver.find_element(By.ID, "error").is_displayed(), driver.find_element(By.ID, "error").text
    return [p.get_attribute("d") for p in driver.find_elements(By.CSS_SELECTOR, "#drawing path")]


def draw_sample(driver) -> None:
    """Three wavy strokes across the canvas, as pointer events from a mouse."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    pad = driver.find_element(By.ID, "pad")
    width = pad.size["width"]
    for k, (start, end) in enumerate([(-0.45, -0.2), (-0.15, 0.15), (0.2, 0.45)]):
        actions = ActionChains(driver, duration=10)
        x0 = int(start * width)
        actions.move_to_element_with_offset(pad, x0, 0).click_and_hold()
        steps = 24
        for i in range(1, steps + 1):
            dy = 18 if i % 4 < 2 else -18
            actions.move_by_offset(int((end - start) * width / steps), dy if i % 2 else 0)
        actions.release().perform()
    wait_for(driver, lambda d: d.find_element(By.ID, "pad").get_attribute("data-strokes") == "3")


def test_the_page_writes_shows_errors_and_learns_a_hand(server, browser):
    from selenium.webdriver.common.by import By

    url, user_dir = server
    browser.get(url)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#styles .style")) >= 3)
    assert browser.find_elements(By.CSS_SELECTOR, "#styles .style.selected")  # the default style

    set_value(browser, "text", "Hello from the browser!")
    set_value(browser, "seed", "4")
    set_speed(browser, 8)
    paths = write_and_wait(browser)
    assert len(paths) >= 5 and all(d.startswith("M") and " L" in d for d in paths)
    assert browser.find_element(By.ID, "download-svg").is_enabled()

    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "slant")).select_by_value("0")
    upright = write_and_wait(browser)  # the same seed, the lines sheared upright
    assert len(upright) == len(paths) and upright != paths
    Select(browser.find_element(By.ID, "slant")).select_by_value("style")

    set_value(browser, "text", "Price: 5\u20ac \u6f22")
    browser.find_element(By.ID, "write").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "U+6F22" in browser.find_element(By.ID, "error").text

    set_value(browser, "sample-text", "minimum")
    draw_sample(browser)
    set_value(browser, "style-name", "browser-hand")
    browser.find_element(By.ID, "save-style").click()
    wait_for(browser, lambda d: "Saved" in d.find_element(By.ID, "style-status").text
             or d.find_element(By.ID, "style-error").is_displayed())
    assert not browser.find_element(By.ID, "style-error").is_displayed(), \
        browser.find_element(By.ID, "style-error").text
    assert (user_dir / "styles" / "browser-hand.json").is_file()
    selected = browser.find_element(By.CSS_SELECTOR, "#styles .style.selected")
    assert selected.get_attribute("data-name") == "browser-hand"
    set_value(browser, "text", "Now in my own hand")
    assert write_and_wait(browser)

    assert browser.find_element(By.ID, "remove-style").is_displayed()  # a style of yours can be removed
    browser.find_element(By.ID, "remove-style").click()
    from selenium.webdriver.support import expected_conditions

    wait_for(browser, expected_conditions.alert_is_present()).accept()  # "Remove your style ...?"
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, '#styles .style[data-name="browser-hand"]'))
    assert not (user_dir / "styles" / "browser-hand.json").exists()
    assert browser.find_element(By.CSS_SELECTOR, "#styles .style.selected").get_attribute("data-kind") == "shipped"
    assert not browser.find_element(By.ID, "remove-style").is_displayed()  # shipped styles stay


#: A note that fills more than one A5 sheet (the page writes at most 1,000 characters).
LONG_NOTE = ("Dear Ada, thank you for the lovely tea and the long walk by the river. " * 8).strip()


def test_a_letter_on_paper_downloads_as_a_pdf_of_every_page(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = server
    browser.get(url)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#styles .style")) >= 3)
    set_value(browser, "text", LONG_NOTE)
    set_value(browser, "seed", "2")
    set_speed(browser, 8)
    Select(browser.find_element(By.ID, "page")).select_by_value("a5")
    Select(browser.find_element(By.ID, "paper")).select_by_value("lined")
    assert write_and_wait(browser)
    status = browser.find_element(By.ID, "status").text
    pages = int(status.split(" of ")[1].split(" ")[0])
    assert pages > 1, status
    view = browser.execute_script("return document.getElementById('drawing').getAttribute('viewBox');")
    assert view == "0 0 148 210"  # the A5 sheet, in mm
    browser.find_element(By.ID, "download-pdf").click()
    target = browser.download_dir / "handwriting.pdf"
    wait_for(browser, lambda d: target.is_file() and target.read_bytes().endswith(b"%%EOF\n"), WRITE_TIMEOUT_S)
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page\n") == pages


def test_readme_screenshot(server, browser):
    """Only with ``HANDWRITING_WEB_SCREENSHOT=PATH``: the page with a written note, saved as PNG."""
    target = os.environ.get("HANDWRITING_WEB_SCREENSHOT")
    if not target:
        pytest.skip("set HANDWRITING_WEB_SCREENSHOT=docs/web.png to save the README's screenshot")
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(url)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#styles .style")) >= 3)
    set_value(browser, "text", "Dear Ada,\nthank you for the lovely tea!")  # in the default style
    set_value(browser, "seed", "3")
    set_speed(browser, 8)
    write_and_wait(browser)
    browser.set_window_size(*SCREENSHOT_SIZE)
    browser.execute_script("window.scrollTo(0, 0); document.getElementById('styles').scrollTop = 0;")
    browser.save_screenshot(str(Path(target)))


#: The "Learn my hand" test's lines are drawn this many px wide on the canvas.
LEARN_LINE_PX = 700
#: Seconds the page may take to learn a hand with a tiny budget (the server loads TensorFlow first).
LEARN_TIMEOUT_S = 300


def draw_ink(driver, coords) -> None:
    """Real ink (``[N, 3]`` coords, y up) drawn on the canvas as mouse pointer events, stroke by stroke."""
    import numpy as np
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from handwriting.strokes import split_strokes

    pad = driver.find_element(By.ID, "pad")
    xy = coords[:, :2] - coords[:, :2].min(axis=0)
    factor = LEARN_LINE_PX / max(xy[:, 0].max(), 1e-6)
    height = pad.size["height"]
    for stroke in split_strokes(np.concatenate([xy * factor, coords[:, 2:]], axis=1)):
        points = np.round(np.stack([stroke[:, 0] - LEARN_LINE_PX / 2, height * 0.3 - stroke[:, 1]], 1)).astype(int)
        actions = ActionChains(driver, duration=0)
        actions.move_to_element_with_offset(pad, int(points[0, 0]), int(points[0, 1])).click_and_hold()
        for step in np.diff(points, axis=0):
            if step.any():
                actions.move_by_offset(int(step[0]), int(step[1]))
        actions.release().perform()


def test_the_page_learns_a_hand_from_three_lines(server, browser):
    """Three real lines (shipped styles' ink) drawn on the canvas; "Learn my hand" with a tiny
    budget; the progress bar, then the new hand among the styles, selected, and written with."""
    from selenium.webdriver.common.by import By

    from handwriting.strokes import offsets_to_coords
    from handwriting.writing.hand import DEFAULT_CHECKPOINT, load_styles

    url, user_dir = server
    browser.get(url)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#styles .style")) >= 3)
    styles = load_styles(DEFAULT_CHECKPOINT)
    for name in ("upright-print", "upright-print-3", "upright-print-4"):
        set_value(browser, "sample-text", styles[name].text)
        browser.find_element(By.ID, "clear").click()
        draw_ink(browser, offsets_to_coords(styles[name].offsets))
        browser.find_element(By.ID, "add-line").click()
    assert browser.find_element(By.ID, "line-count").get_attribute("data-lines") == "3"
    set_value(browser, "style-name", "learnt-hand")
    set_value(browser, "adapt-minutes", "0.01")
    browser.find_element(By.ID, "learn").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "adapt-progress").is_displayed()
             or d.find_element(By.ID, "adapt-error").is_displayed(), 30)
    wait_for(browser, lambda d: "Learnt" in d.find_element(By.ID, "adapt-status").text
             or d.find_element(By.ID, "adapt-error").is_displayed(), LEARN_TIMEOUT_S)
    assert not browser.find_element(By.ID, "adapt-error").is_displayed(), browser.find_element(By.ID, "adapt-error").text
    assert list((user_dir / "styles").glob("learnt-hand.*.adapt.npz"))
    selected = browser.find_element(By.CSS_SELECTOR, "#styles .style.selected")
    assert selected.get_attribute("data-name") == "learnt-hand"
    set_value(browser, "text", "Written by my learnt hand")
    set_speed(browser, 8)
    assert write_and_wait(browser)
