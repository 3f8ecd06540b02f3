"""Full-text search over tickets, in the database: SQLite FTS5 or PostgreSQL tsvector + GIN.

One document per ticket (subject, requester name and email, every message body, internal notes
included: only staff search). The write path calls ``index_ticket`` in the transaction that changed
the ticket, so the index never lags behind what agents see.

Ranking reads only the newest ``CANDIDATES`` matches: a word found in 100,000 tickets would
otherwise be ranked 100,000 times, and finding the newest few hundred matches is a short walk
backwards along the ticket ids on both engines. Recent tickets are what agents look for.
"""

from __future__ import annotations

import re
from typing import Any

from portal.db import current_engine, fetch
from portal.tickets.rows import Row

CANDIDATES = 500
_WORD = re.compile(r"\w+", re.UNICODE)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PREFIX_MIN = 3  # "co*" would expand to thousands of words: shorter last words match whole only


def terms(query: str) -> list[str]:
    """The words of a search box, lower-cased; punctuation and operators are not syntax here."""
    return [w.lower() for w in _WORD.findall(query)][:12]


def people_text(name: str, email: str) -> str:
    """Name and email, with the email also split in parts so "jane" or "example.org" find it."""
    return f"{name} {email} {' '.join(_WORD.findall(email))}"


def _document_parts(ticket: Row, bodies: list[str]) -> tuple[str, str, str]:
    return ticket["subject"], people_text(ticket["requester_name"], ticket["requester_email"]), "\n".join(bodies)


async def index_ticket(ticket_id: int) -> None:
    """(Re)build one ticket's search document; call inside the write transaction that changed it."""
    rows = await fetch("SELECT subject, requester_name, requester_email FROM ticket WHERE id = {}", ticket_id)
    if not rows:
        return
    bodies = [
        r["body_source"]
        for r in await fetch(
            "SELECT body_source FROM message WHERE ticket = {} AND kind <> 'system' ORDER BY id", ticket_id
        )
    ]
    subject, people, body = _document_parts(rows[0], bodies)
    if current_engine().engine_type == "sqlite":
        await fetch("DELETE FROM ticket_fts WHERE rowid = {}", ticket_id)
        await fetch(
            "INSERT INTO ticket_fts (rowid, subject, people, body) VALUES ({}, {}, {}, {})",
            ticket_id,
            subject,
            people,
            body,
        )
    else:
        await fetch(
            f"INSERT INTO ticket_search (ticket, document) VALUES ({{}}, {PG_DOCUMENT}) "
            "ON CONFLICT (ticket) DO UPDATE SET document = EXCLUDED.document",
            ticket_id,
            subject,
            people,
            body,
        )


async def forget_ticket(ticket_id: int) -> None:
    if current_engine().engine_type == "sqlite":
        await fetch("DELETE FROM ticket_fts WHERE rowid = {}", ticket_id)
    else:
        await fetch("DELETE FROM ticket_search WHERE ticket = {}", ticket_id)


# The PostgreSQL document: subject weighs most, then people, then bodies. Used by bench seeding too.
PG_DOCUMENT = (
    "setweight(to_tsvector('english', {}), 'A') || setweight(to_tsvector('english', {}), 'B') "
    "|| setweight(to_tsvector('english', left({}, 200000)), 'C')"
)


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word must appear, the last one as a prefix (search as you type)."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if len(words[-1]) >= PREFIX_MIN:
        quoted[-1] += "*"
    return " AND ".join(quoted)


def tsquery(words: list[str]) -> str:
    """A to_tsquery text: words are \\w+ only (no operators can get in), the last one a prefix."""
    last = words[-1] + (":*" if len(words[-1]) >= PREFIX_MIN else "")
    return " & ".join(words[:-1] + [last])


async def matching_ids(query: str, scope_sql: str = "", scope_args: tuple[Any, ...] = (), limit: int = 50) -> list[int]:
    """Ticket ids matching ``query``, best first. ``scope_sql`` is an extra condition on ``t``
    (the ticket table), e.g. the teams a limited agent may see."""
    words = terms(query)
    if not words:
        return []
    scope = f" AND {scope_sql}" if scope_sql else ""
    if EMAIL.fullmatch(query.strip()):
        # A requester's address: their tickets, newest first, straight from the index on the column.
        rows = await fetch(
            f"SELECT t.id FROM ticket t WHERE t.requester_email = {{}}{scope} "
            f"ORDER BY t.updated_at DESC LIMIT {int(limit)}",
            query.strip().lower(),
            *scope_args,
        )
        if rows:
            return [r["id"] for r in rows]
    if current_engine().engine_type == "sqlite":
        # Rank (bm25) only the newest CANDIDATES matches (within the agent's scope): FTS5 walks a
        # doclist backwards by rowid and stops there.
        join = f" JOIN ticket t ON t.id = f.rowid WHERE {scope_sql} AND" if scope_sql else " WHERE"
        rows = await fetch(
            "SELECT m.id FROM (SELECT f.rowid AS id, bm25(ticket_fts, 10.0, 5.0, 1.0) AS score FROM ticket_fts f"
            f"{join} ticket_fts MATCH {{}} ORDER BY f.rowid DESC LIMIT {CANDIDATES}) m "
            f"ORDER BY m.score LIMIT {int(limit)}",
            *scope_args,
            fts5_query(words),
        )
    else:
        join = " JOIN ticket t ON t.id = s.ticket" if scope_sql else ""
        rows = await fetch(
            f"SELECT m.ticket AS id FROM (SELECT s.ticket, s.document FROM ticket_search s{join} "
            f"WHERE s.document @@ to_tsquery('english', {{}}){scope} ORDER BY s.ticket DESC LIMIT {CANDIDATES}) m "
            f"ORDER BY ts_rank(m.document, to_tsquery('english', {{}})) DESC, m.ticket DESC LIMIT {int(limit)}",
            tsquery(words),
            *scope_args,
            tsquery(words),
        )
    return [r["id"] for r in rows]
