"""The learner in JupyterLab, in a real browser (headless Chromium driven by Selenium).

One JupyterLab server and one browser for the module, on copies of notebook 01 as released (and of
notebook 05 as a learner who has done its exercises hands it in) with the course's nbgrader
configuration. Everything is done as a learner does it: the menus, the toolbar, the keyboard; nothing
calls JupyterLab's commands from script. (tests/test_execution.py checks Run All on every notebook in a
kernel; this module checks what the browser shows.) `make test` installs Debian's chromium and
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

from conftest import COURSE, ROOT, SOLUTIONS, VENV_BIN, make_submission

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NOTEBOOK = "01_recurrence/01_the_rnn_recurrence.ipynb"
RUN_ALL = "01_recurrence/run_all.ipynb"  # a copy for Run All, so the other tests see an unrun notebook
EXPLORER = "05_hidden_states/05_seeing_hidden_states.ipynb"
TOKEN = "course-test"


SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front (others stay open in hidden tabs)
ERRORS = f"{SHOWN} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
STDERR = f"{SHOWN} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


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
    shutil.copy(COURSE / NOTEBOOK, root / RUN_ALL)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    make_submission(SOLUTIONS / EXPLORER, root / EXPLORER)  # a learner's notebook with every exercise done
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
         f"--LabApp.user_settings_dir={root / 'user-settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--KernelManager.transport=ipc",
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


def api(lab, path, method="GET"):
    request = urllib.request.Request(f"{lab['url']}/api/{path}?token={TOKEN}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def kernel_state(lab, path):
    return next((s["kernel"]["execution_state"] for s in api(lab, "sessions") if s["path"] == path), None)


def open_notebook(driver, lab, path):
    """Open `path` alone, as a learner who closed everything else: the other notebooks' kernels are shut
    down and the workspace is reset, so menus and toolbars act on this notebook and no other kernel runs."""
    for session in api(lab, "sessions"):
        api(lab, f"sessions/{session['id']}", "DELETE")
    driver.get(f"{lab['url']}/lab/tree/{path}?reset&token={TOKEN}")
    assert wait(lambda: kernel_state(lab, path) == "idle"
                and by_css(driver, f"{SHOWN} .jp-Notebook-ExecutionIndicator[data-status='idle']"), 120), \
        f"the kernel of {path} never became idle"


def dirty(driver) -> bool:
    return bool(by_css(driver, ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"))


def click_menu(driver, menu, item):
    """Open `menu` in the menu bar and click `item` (the menu is opened again if a first click was lost)."""
    for _ in range(3):
        label = wait(lambda: [e for e in by_css(driver, ".lm-MenuBar-itemLabel") if e.text == menu], 30)
        assert label, f"no {menu} menu in the menu bar"
        label[0].click()
        entry = wait(lambda: [e for e in by_css(driver, ".lm-Menu-itemLabel") if e.text == item], 5)
        if entry:
            entry[0].click()
            return
        driver.save_screenshot(str(Path("/tmp") / "menu.png"))
    raise AssertionError(f"no {menu} → {item}; the open menus show "
                         f"{[e.text for e in by_css(driver, '.lm-Menu-itemLabel')][:30]}")


def test_opening_an_untouched_notebook_leaves_nothing_unsaved(browser, lab):
    open_notebook(browser, lab, NOTEBOOK)
    time.sleep(3)  # JupyterLab writes the kernel's metadata right after the kernel starts
    assert not dirty(browser)
    # the control shows the check can fail: the notebooks' former bare metadata opens as changed
    open_notebook(browser, lab, "01_recurrence/bare_metadata.ipynb")
    assert wait(lambda: dirty(browser), 10)


def test_validate_shows_what_failed_and_why(browser, lab):
    open_notebook(browser, lab, NOTEBOOK)
    button = wait(lambda: [e for e in by_css(browser, f"{SHOWN} .jp-Toolbar-item") if e.text.strip() == "Validate"])
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


def run_all(driver):
    """Run → Run All Cells, as a learner does, then wait for the kernel to finish."""
    click_menu(driver, "Run", "Run All Cells")
    done = wait(lambda: not unrun(driver) and by_css(driver, f"{SHOWN} .jp-Notebook-ExecutionIndicator[data-status='idle']"),
                240, 1)
    assert done, f"{len(unrun(driver))} cells left unrun; errors shown: {texts(driver, ERRORS)}"


def texts(driver, css) -> list[str]:
    """The text of every element matching css, read in one go (JupyterLab re-renders cells while it runs)."""
    return driver.execute_script("return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", css)


def prompts(driver) -> list[str]:
    return [t.strip() for t in texts(driver, f"{SHOWN} .jp-CodeCell .jp-InputArea-prompt")]


def unrun(driver) -> list[str]:
    return [p for p in prompts(driver) if p in ("[ ]:", "[*]:", "")]


def test_run_all_on_a_fresh_notebook_runs_every_cell(browser, lab):
    """Issue 14's first complaint: ▶▶ on a released notebook stopped at Exercise 1. Every code cell must run,
    no cell may show an error, and each unanswered exercise's test cell says so itself."""
    open_notebook(browser, lab, RUN_ALL)
    code_cells = sum(1 for c in json.loads((lab["root"] / RUN_ALL).read_text())["cells"] if c["cell_type"] == "code")
    assert wait(lambda: len(prompts(browser)) == code_cells, 30), f"{len(prompts(browser))} of {code_cells} cells shown"
    run_all(browser)
    numbers = [int(p.strip("[]:")) for p in prompts(browser)]
    assert len(numbers) == code_cells and numbers == sorted(numbers), prompts(browser)
    errors, stderr = texts(browser, ERRORS), texts(browser, STDERR)
    assert not errors, [e[:300] for e in errors[:3]]
    assert not stderr, [e[:300] for e in stderr[:3]]
    page = "\n".join(texts(browser, f"{SHOWN} .jp-OutputArea-output"))
    assert page.count("not answered yet") >= 5, "the test cells should each say their exercise is not answered"
    assert "test_rnn_step: 0 / 3 points" in page
    figures = [e for e in by_css(browser, f"{SHOWN} .jp-OutputArea-output img") if e.size["height"] > 50]
    assert figures, "the demos' figures were not drawn"


def _picture(driver):
    images = by_css(driver, ".widget-output img, .jupyter-widgets-output-area img")
    return images[0].get_attribute("src") if images else None


def test_the_explorer_is_drawn_and_steps_with_its_slider(browser, lab):
    """Notebook 05's explorer in a live JupyterLab: the widgets are drawn (not the static fallback), and
    stepping the time slider with the keyboard redraws the picture for the new step."""
    from selenium.webdriver.common.keys import Keys

    open_notebook(browser, lab, EXPLORER)
    run_all(browser)
    page = browser.find_element("tag name", "body").text
    assert "needs JupyterLab with ipywidgets" not in page, "the explorer fell back to its static picture"
    slider = wait(lambda: [e for e in by_css(browser, ".widget-slider") if "step t" in e.text], 30)
    assert slider, "no time slider was drawn"
    assert wait(lambda: _picture(browser), 30), "the explorer drew no picture"
    readout = slider[0].find_element("css selector", ".widget-readout")
    before, picture = int(readout.text), _picture(browser)
    handle = slider[0].find_element("css selector", ".noUi-handle")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    handle.click()
    handle.send_keys(Keys.ARROW_LEFT)
    assert wait(lambda: int(readout.text) == before - 1, 10), f"the slider stayed at {readout.text}"
    assert wait(lambda: _picture(browser) not in (None, picture), 30), "the picture was not redrawn"
