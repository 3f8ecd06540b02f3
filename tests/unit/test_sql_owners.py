"""Who reads the ticket tables: the tickets domain (``portal/tickets/``) and, for the aggregates it
cannot serve row by row, the reports' read model (``portal/backoffice/read_model.py``) with the
rollup it keeps (``portal/backoffice/rollup.py``). Any other module goes through the tickets
domain's functions, so a query that spells a ticket table, or an import of its Piccolo tables,
anywhere else fails here. Inside the back office, only those two modules run SQL at all.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
TICKET_TABLES = (
    "ticket",
    "message",
    "attachment",
    "ticket_event",
    "ticket_tag",
    "ticket_token",
    "queue_tally",
    "ticket_week_stat",
)
# A statement reading or writing one of them: `FROM ticket t`, `JOIN "message" m`, `UPDATE queue_tally`…
READS = re.compile(rf'\b(FROM|JOIN|UPDATE|INTO)\s+"?({"|".join(TICKET_TABLES)})(?!\w)', re.IGNORECASE)
READ_MODEL = {"portal/backoffice/read_model.py", "portal/backoffice/rollup.py"}
REGISTRY = "portal/piccolo_app.py"  # registers every table with Piccolo
TABLES_MODULE = "portal.tickets.tables"


def sources() -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): path.read_text() for path in sorted(PORTAL.rglob("*.py"))}


def owner(path: str) -> bool:
    return path.startswith("portal/tickets/")


def table_classes() -> set[str]:
    """The Piccolo table classes the tickets domain defines."""
    tree = ast.parse((PORTAL / "tickets" / "tables.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef) and any(getattr(base, "id", "") == "Table" for base in node.bases)
    }


def table_imports(text: str, classes: set[str]) -> list[str]:
    """Imports (at any depth) of the ticket tables module, or of one of its classes from any tickets
    module (a class re-exported by another module is still the table)."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == TABLES_MODULE]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module == TABLES_MODULE or (node.module == "portal.tickets" and "tables" in names):
                found.append(f"{node.module}: {', '.join(sorted(names))}")
            elif node.module.startswith("portal.tickets.") and names & classes:
                found.append(f"{node.module}: {', '.join(sorted(names & classes))}")
    return found


def test_the_pattern_finds_statements_on_ticket_tables_and_not_prose():
    for sql in (
        "SELECT COUNT(*) FROM ticket t",
        'SELECT m.id FROM "message" m',
        "LEFT JOIN attachment a ON a.message = m.id",
        "update queue_tally SET n = n + 1",
        "INSERT INTO ticket_event (ticket) VALUES ({})",
        "SELECT SUM(t.created) FROM ticket_week_stat t",
    ):
        assert READS.search(sql), sql
    for text in ("from tickets import", "FROM ticketing", "JOIN appointment a", "FROM portal_user", "messages from"):
        assert not READS.search(text), text


def test_only_the_tickets_domain_and_the_read_model_query_ticket_tables():
    readers = {path for path, text in sources().items() if READS.search(text)}
    assert readers >= READ_MODEL and any(owner(path) for path in readers)  # the scan sees the real readers
    strangers = {
        path: sorted({" ".join(m.group(0).split()) for m in READS.finditer(sources()[path])})
        for path in readers
        if not owner(path) and path not in READ_MODEL
    }
    assert strangers == {}


def test_only_the_tickets_domain_imports_ticket_tables():
    classes = table_classes()
    assert {"Ticket", "Message", "Attachment", "TicketEvent", "TicketTag", "TicketToken", "QueueTally"} <= classes
    imports = {path: table_imports(text, classes) for path, text in sources().items()}
    assert imports[REGISTRY]  # the scan sees the one registry import
    strangers = {
        path: found
        for path, found in imports.items()
        if found and not owner(path) and path not in READ_MODEL and path != REGISTRY
    }
    assert strangers == {}


def test_in_the_back_office_only_the_read_model_runs_sql():
    """kpis.py shapes numbers and checks scope; charts.py and the controllers present them."""
    runs_sql = re.compile(r"\b(fetch|fetch_rows)\(|\bSELECT\b")
    backoffice = {path: text for path, text in sources().items() if path.startswith("portal/backoffice/")}
    assert "portal/backoffice/kpis.py" in backoffice
    assert sorted(path for path, text in backoffice.items() if runs_sql.search(text)) == sorted(READ_MODEL)
