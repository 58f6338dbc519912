"""axe-core (vendored in tests/vendor) over a page as a user sees it, in the browser
tests: serious and critical WCAG 2.1 A/AA violations fail the test. Keyboard-only use
is checked with browser_support.press_with_keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the pages' CSP (script-src 'self')
        # rightly refuses an injected <script>, and the test must not weaken it.
        await page.evaluate(f"() => {{ {AXE.read_text(encoding='utf-8')}\n}}")
    result = await page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        WCAG_21_AA,
    )
    return result  # type: ignore[no-any-return]


async def assert_accessible(page: Any, where: str) -> None:
    """No serious or critical WCAG 2.1 A/AA violation that axe can find on the page."""
    failing = [v for v in await axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"axe on {where}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in failing
    )
