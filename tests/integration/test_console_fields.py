"""The console ticket's Status, Priority, Category, Team and Assignee: saved by an explicit button
(never on each option a keyboard passes through), the outcome announced in the polite live region."""

from __future__ import annotations

import re

from portal.db import fetch
from tests.integration.test_console import agent, desk, file_ticket  # noqa: F401  (fixtures)


def fields_form(page: str) -> str:
    return re.search(r'<form[^>]*class="side-fields".*?</form>', page, re.S).group(0)


async def test_ticket_fields_save_on_a_button_not_on_change(desk, make_browser):
    ticket = await file_ticket("Keyboard user", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    form = fields_form((await ben.get(f"/back/tickets/{ticket['number']}")).text)
    assert "hx-trigger" not in form.split(">", 1)[0]  # htmx's default for a form: its submit
    assert "<noscript>" not in form and re.search(r'<button type="submit"[^>]*>Update ticket</button>', form)
    for name in ("status", "priority", "category", "team", "assignee"):
        assert f'name="{name}"' in form and "hx-trigger" not in re.search(
            rf'<select[^>]*name="{name}"[^>]*>', form
        ).group(0)


async def test_htmx_save_announces_the_outcome_in_the_live_region(desk, make_browser):
    ticket = await file_ticket("Announce it", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    url = f"/back/tickets/{ticket['number']}"
    headers = {"HX-Request": "true", "HX-Target": "ticket-main", "HX-Current-URL": f"http://testserver{url}"}
    response = await ben.post(f"{url}/fields", {"priority": "high", "status": "new"}, headers=headers)
    assert response.status_code == 200
    assert re.search(
        r'<div id="messages" hx-swap-oob="innerHTML"><p class="flash flash-success">'
        r"Saved: priority\.</p></div>",
        response.text,
    )
    again = await ben.post(f"{url}/fields", {"priority": "high"}, headers=headers)
    assert "Nothing to save" in again.text
    # Announced once, in place: not again as a stale flash on the next page.
    assert "Saved: priority" not in (await ben.get(url)).text
    history = await fetch("SELECT field FROM ticket_event WHERE ticket = {}", ticket["id"])
    assert [e["field"] for e in history] == ["priority"]


async def test_plain_save_flashes_the_outcome(desk, make_browser):
    ticket = await file_ticket("No script", desk.tech)
    ben = await agent(make_browser, "ben@example.org")
    response = await ben.post(f"/back/tickets/{ticket['number']}/fields", {"priority": "low"})
    assert response.status_code == 303
    page = (await ben.get(response.headers["location"])).text
    assert "Saved: priority." in page and "hx-swap-oob" not in page
