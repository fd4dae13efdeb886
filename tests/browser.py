"""Headless Chromium for the tests, from Debian's packages (chromium, chromium-driver; installed
by scripts/setup.sh), driven through selenium with software WebGL (SwiftShader). Selenium is
given both paths, and told it is offline, so it never downloads a browser or a driver."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         # WebGL in software: ANGLE over SwiftShader.
         "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader")


def require_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: bash scripts/setup.sh installs Debian's "
                    "chromium and chromium-driver")


@contextlib.contextmanager
def chromium(width: int = 1100, height: int = 800) -> Iterator[object]:
    """A selenium Chrome driver on Debian's chromium, with a fresh profile, closed after."""
    require_chromium()
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hideseek-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, timeout: float = 30.0) -> None:
    """Until ``script`` (a JS expression) is true in the page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(f"return !!({script})"):
            return
        time.sleep(0.1)
    raise AssertionError(f"the page never had {script} within {timeout} s; its text: "
                         f"{driver.find_element('tag name', 'body').text[:300]!r}")
