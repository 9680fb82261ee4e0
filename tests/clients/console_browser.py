"""Drives the API consoles in headless Chromium, as a person would.

1. The token API's console (/api/ on the token listener): authorize with a
   login and password (HTTP Basic), "Try it out" on POST /token, "Execute".
2. The confd console (/api on the confd listener, redirected to /api/):
   authorize with a token, expand GET /users, "Try it out", "Execute".

Usage: console_browser.py CONFD_URL AUTH_URL TOKEN LOGIN PASSWORD OUTPUT_DIR
Prints one JSON line with what each page showed; exits non-zero when a step
could not be done. Screenshots go to OUTPUT_DIR (console.png,
auth-console.png). Chromium and its driver come from Debian (/usr/bin):
nothing is downloaded.
"""

import json
import os
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = "/usr/bin/chromedriver"


def browser(profile):
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        # the test server's certificate is self-signed
        "--ignore-certificate-errors",
        "--window-size=1280,1700",
        "--user-data-dir=" + profile,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


class Console:
    def __init__(self, driver, url, title):
        self.driver = driver
        self.wait = WebDriverWait(driver, 30)
        driver.get(url)
        self.wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".info .title"), title))

    def authorize(self, scheme_text, *values):
        """Fills the Authorize dialog's form whose text shows `scheme_text`."""
        self.driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
        self.wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container")))
        form = next(
            form
            for form in self.driver.find_elements(By.CSS_SELECTOR, ".auth-container")
            if scheme_text.lower() in form.text.lower()
        )
        inputs = form.find_elements(By.CSS_SELECTOR, "input")
        for field, value in zip(inputs, values):
            field.send_keys(value)
        form.find_element(By.CSS_SELECTOR, "button.authorize").click()
        self.wait.until(lambda _: "Logout" in form.text)
        self.driver.find_element(By.CSS_SELECTOR, "button.btn-done, button.close-modal").click()

    def try_it_out(self, operation):
        """Expands an operation, tries it with what the page proposes, and
        returns (status, response body) as the page shows them."""
        block = "#" + operation
        self.driver.find_element(By.CSS_SELECTOR, block + " .opblock-summary-control").click()
        clickable = ready.element_to_be_clickable
        self.wait.until(clickable((By.CSS_SELECTOR, block + " .try-out__btn"))).click()
        self.wait.until(clickable((By.CSS_SELECTOR, block + " button.execute"))).click()
        status = (By.CSS_SELECTOR, block + " .live-responses-table .response .response-col_status")
        self.wait.until(ready.presence_of_element_located(status))
        body = self.driver.find_elements(
            By.CSS_SELECTOR, block + " .live-responses-table .response-col_description pre"
        )
        return (
            self.driver.find_element(*status).text.strip(),
            body[0].text if body else "",
        )

    def screenshot(self, operation, path):
        """The operation tried, from its title down to the start of its answer."""
        self.driver.execute_script(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});"
            "window.scrollBy(0, -8);",
            "#" + operation,
        )
        self.driver.save_screenshot(path)

    def errors(self):
        """What the browser logged as errors (a refused script, a failed load)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]


def main():
    confd, auth, token, login, password, output = sys.argv[1:7]
    os.makedirs(output, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    try:
        return drive(profile, confd, auth, token, login, password, output)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def drive(profile, confd, auth, token, login, password, output):
    driver = browser(profile)
    result = {"ok": False, "step": "start"}
    try:
        result["step"] = "token API console"
        page = Console(driver, auth + "/api/", "XiVO auth")
        page.authorize("basic", login, password)
        status, body = page.try_it_out("operations-token-post_token")
        result["auth"] = {"status": status, "body": body, "errors": page.errors()}
        page.screenshot("operations-token-post_token", os.path.join(output, "auth-console.png"))

        result["step"] = "confd console"
        page = Console(driver, confd + "/api", "XiVO confd")
        result["confd"] = {"url": driver.current_url}
        page.authorize("X-Auth-Token", token)
        status, body = page.try_it_out("operations-users-get_users")
        result["confd"].update(status=status, body=body, errors=page.errors())
        page.screenshot("operations-users-get_users", os.path.join(output, "console.png"))
        result["ok"] = True
    except Exception as error:  # report where it stopped, and what was seen
        result["error"] = "%s: %s" % (type(error).__name__, error)
        try:
            driver.save_screenshot(os.path.join(output, "failure.png"))
        except Exception:
            pass
    finally:
        driver.quit()
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
