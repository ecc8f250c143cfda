"""The checks every journey page goes through must catch what they are there to catch."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_axe_finds_a_serious_violation(browser):
    browser.page.set_content('<html lang="en"><body><main><img src="/static/img/favicon.svg"></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        browser.check("selftest-axe")


def test_the_browser_enforces_the_policy_and_the_check_reports_it(browser):
    browser.visit("/", "selftest-csp-before")
    page = browser.page
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
            const p = document.createElement('p');
            p.setAttribute('style', 'color: red');
            document.body.append(p);
        }"""
    )
    assert page.evaluate("window.injected === undefined")  # blocked by script-src 'self'
    with pytest.raises(AssertionError, match="Content Security Policy"):
        browser.check("selftest-csp")
