"""The learner in JupyterLab, in a real browser (headless Chromium driven by Selenium).

One JupyterLab server and one browser for the module, on a copy of notebook 01 (the student notebook
as released) with the course's nbgrader configuration. (Run All on a fresh notebook is checked in a
real kernel, stopping at the first error as JupyterLab does, by tests/test_execution.py.) `make test` installs Debian's chromium and
chromium-driver when it can (root with apt); without them these tests skip and say why.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import COURSE, ROOT, VENV_BIN

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NOTEBOOK = "01_recurrence/01_the_rnn_recurrence.ipynb"
TOKEN = "course-test"


def wait(predicate, seconds=120.0, step=0.5):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (make test installs them as root)")
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(COURSE / "01_recurrence", root / "01_recurrence")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    # a control: the same notebook stored as before, with only {"name": "python"} as language_info
    bare = json.loads((root / NOTEBOOK).read_text(encoding="utf-8"))
    bare["metadata"]["language_info"] = {"name": "python"}
    (root / "01_recurrence" / "bare_metadata.ipynb").write_text(json.dumps(bare, indent=1) + "\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # every cell in the page, not only those scrolled into view (JupyterLab 4 windows long notebooks)
    settings = root / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
         f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / 'user-settings'}", "--KernelManager.transport=ipc",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT)

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
        except OSError:
            return None

    try:
        assert wait(up, 90), (root / "lab.log").read_text()[-3000:]
        yield {"url": f"http://127.0.0.1:{port}", "root": root}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def by_css(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def open_notebook(driver, lab, path):
    driver.get(f"{lab['url']}/lab/tree/{path}?token={TOKEN}")
    assert wait(lambda: by_css(driver, ".jp-Notebook-ExecutionIndicator[data-status='idle']"), 120), \
        f"the kernel of {path} never became idle"


def dirty(driver) -> bool:
    return bool(by_css(driver, ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"))


def click_menu(driver, menu, item):
    label = wait(lambda: [e for e in by_css(driver, ".lm-MenuBar-itemLabel") if e.text == menu])
    label[0].click()
    entry = wait(lambda: [e for e in by_css(driver, ".lm-Menu-itemLabel") if e.text == item])
    assert entry, f"no {menu} → {item}"
    entry[0].click()


def test_opening_an_untouched_notebook_leaves_nothing_unsaved(browser, lab):
    open_notebook(browser, lab, NOTEBOOK)
    time.sleep(3)  # JupyterLab writes the kernel's metadata right after the kernel starts
    assert not dirty(browser)
    # the control shows the check can fail: the notebooks' former bare metadata opens as changed
    open_notebook(browser, lab, "01_recurrence/bare_metadata.ipynb")
    assert wait(lambda: dirty(browser), 10)


def test_validate_shows_what_failed_and_why(browser, lab):
    open_notebook(browser, lab, NOTEBOOK)
    button = wait(lambda: [e for e in by_css(browser, ".jp-Toolbar-item") if e.text.strip() == "Validate"])
    assert button, "no Validate button in the notebook toolbar"
    button[0].click()
    dialog = wait(lambda: [e for e in by_css(browser, ".jp-Dialog-content")
                           if "The following cell failed" in e.text or "Success" in e.text], 240, 1)
    assert dialog, "the Validate dialog never showed a result"
    text = dialog[0].text
    assert "✗ mcq_rnn_purpose is one letter A-D: not answered yet" in text
    assert "test_rnn_step: 0 / 3 points" in text
    assert "Partial credit" not in text


def test_the_assignment_list_reads_the_exchange(browser, lab):
    browser.get(f"{lab['url']}/lab?token={TOKEN}")
    click_menu(browser, "Nbgrader", "Assignment List")
    panel = wait(lambda: [e for e in by_css(browser, ".lm-Widget") if "Released assignments" in e.text], 60)
    assert panel, "the Assignment List never showed its lists"
    page = browser.find_element("tag name", "body").text
    assert "Error fetching courses" not in page
