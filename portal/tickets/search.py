"""Full-text search over tickets, in the database: SQLite FTS5 or PostgreSQL tsvector + GIN.

One document per ticket (subject, requester name and email, every message body, internal notes
included: only staff search). The write path calls ``index_ticket`` in the transaction that changed
the ticket, so the index never lags behind what agents see.

Ranking reads only the newest ``CANDIDATES`` matches: a word found in 100,000 tickets would
otherwise be ranked 100,000 times. Recent tickets are what agents look for.
"""

from __future__ import annotations

import re

from portal.db import current_engine, fetch

CANDIDATES = 2000
_WORD = re.compile(r"\w+", re.UNICODE)


def terms(query: str) -> list[str]:
    """The words of a search box, lower-cased; punctuation and operators are not syntax here."""
    return [w.lower() for w in _WORD.findall(query)][:12]


def people_text(name: str, email: str) -> str:
    """Name and email, with the email also split in parts so "jane" or "example.org" find it."""
    return f"{name} {email} {' '.join(_WORD.findall(email))}"


def _document_parts(ticket: dict, bodies: list[str]) -> tuple[str, str, str]:
    return ticket["subject"], people_text(ticket["requester_name"], ticket["requester_email"]), "\n".join(bodies)


async def index_ticket(ticket_id: int) -> None:
    """(Re)build one ticket's search document; call inside the write transaction that changed it."""
    rows = await fetch("SELECT subject, requester_name, requester_email FROM ticket WHERE id = {}", ticket_id)
    if not rows:
        return
    bodies = [r["body_source"] for r in await fetch(
        "SELECT body_source FROM message WHERE ticket = {} AND kind <> 'system' ORDER BY id", ticket_id)]
    subject, people, body = _document_parts(rows[0], bodies)
    if current_engine().engine_type == "sqlite":
        await fetch("DELETE FROM ticket_fts WHERE rowid = {}", ticket_id)
        await fetch("INSERT INTO ticket_fts (rowid, subject, people, body) VALUES ({}, {}, {}, {})",
                    ticket_id, subject, people, body)
    else:
        await fetch(f"INSERT INTO ticket_search (ticket, document) VALUES ({{}}, {PG_DOCUMENT}) "
                    "ON CONFLICT (ticket) DO UPDATE SET document = EXCLUDED.document",
                    ticket_id, subject, people, body)


async def forget_ticket(ticket_id: int) -> None:
    if current_engine().engine_type == "sqlite":
        await fetch("DELETE FROM ticket_fts WHERE rowid = {}", ticket_id)
    else:
        await fetch("DELETE FROM ticket_search WHERE ticket = {}", ticket_id)


# The PostgreSQL document: subject weighs most, then people, then bodies. Used by bench seeding too.
PG_DOCUMENT = ("setweight(to_tsvector('english', {}), 'A') || setweight(to_tsvector('english', {}), 'B') "
               "|| setweight(to_tsvector('english', left({}, 200000)), 'C')")


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word must appear, the last one as a prefix (search as you type)."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def tsquery(words: list[str]) -> str:
    """A to_tsquery text: words are \\w+ only (no operators can get in), the last one a prefix."""
    return " & ".join(words[:-1] + [words[-1] + ":*"])


async def matching_ids(query: str, scope_sql: str = "", scope_args: tuple = (), limit: int = 50) -> list[int]:
    """Ticket ids matching ``query``, best first. ``scope_sql`` is an extra condition on ``t``
    (the ticket table), e.g. the teams a limited agent may see."""
    words = terms(query)
    if not words:
        return []
    scope = f" AND {scope_sql}" if scope_sql else ""
    if current_engine().engine_type == "sqlite":
        rows = await fetch(
            "SELECT f.rowid AS id FROM ticket_fts f JOIN ticket t ON t.id = f.rowid "
            "WHERE ticket_fts MATCH {} AND f.rowid >= (SELECT COALESCE(MIN(rowid), 0) FROM "
            f"(SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH {{}} ORDER BY rowid DESC LIMIT {CANDIDATES}))"
            f"{scope} ORDER BY bm25(ticket_fts, 10.0, 5.0, 1.0) LIMIT {int(limit)}",
            fts5_query(words), fts5_query(words), *scope_args)
    else:
        rows = await fetch(
            "SELECT m.ticket AS id FROM (SELECT s.ticket, s.document FROM ticket_search s JOIN ticket t "
            f"ON t.id = s.ticket WHERE s.document @@ to_tsquery('english', {{}}){scope} "
            f"ORDER BY s.ticket DESC LIMIT {CANDIDATES}) m "
            f"ORDER BY ts_rank(m.document, to_tsquery('english', {{}})) DESC, m.ticket DESC LIMIT {int(limit)}",
            tsquery(words), *scope_args, tsquery(words))
    return [r["id"] for r in rows]
