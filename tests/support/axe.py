"""axe-core (from npm, tests/support/axe) run inside a page: the WCAG 2 A/AA rules, as a person's browser sees it."""

from pathlib import Path

AXE_JS = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = ("serious", "critical")

RUN = """rules => axe.run(document, {runOnly: {type: 'tag', values: rules}, resultTypes: ['violations']})
    .then(result => result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                  html: n.html.slice(0, 200)}))})))"""


def violations(page, impacts=SERIOUS) -> list[dict]:
    """The axe-core violations of `impacts` on the page as it is now (axe is injected once per document)."""
    if not AXE_JS.exists():
        raise FileNotFoundError(f"{AXE_JS} is missing: run `make browser` (npm ci in tests/support/axe)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return [found for found in page.evaluate(RUN, RULES) if found["impact"] in impacts]


def described(found: list[dict]) -> str:
    """The violations in a few readable lines (for an assertion's message)."""
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} ({len(violation['nodes'])})")
        lines += [f"    {node['target']}: {node['html'][:120]}" for node in violation["nodes"][:4]]
    return "\n".join(lines)
