"""Accounts: users, teams, audit trail and single-purpose link tokens."""

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class User(Table, tablename="portal_user"):
    """``user`` is a reserved word in PostgreSQL, hence the table name."""

    id: Serial  # the primary key Piccolo adds (an annotation only: declared for the type checker)
    email = Varchar(length=254, unique=True)  # stored lower-cased by the service layer
    name = Varchar(length=120)
    password_hash = Varchar(length=255, default="")  # "" = no password yet (invited)
    role = Varchar(length=16, default="customer", index=True)
    timezone = Varchar(length=64, default="UTC")
    locale = Varchar(length=16, default="en")
    is_active = Boolean(default=True)
    email_verified_at = Timestamptz(null=True, default=None)
    session_version = Integer(default=1)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
    # Agents: round-robin takes available agents below their cap; "limited" sees only their teams.
    is_available = Boolean(default=True)
    open_ticket_cap = Integer(null=True, default=None)
    limited_to_teams = Boolean(default=False)


class Team(Table, tablename="team"):
    id: Serial
    name = Varchar(length=80, unique=True)
    created_at = Timestamptz()
    round_robin = Boolean(default=False)  # assign new tickets to the next available member
    last_assigned = Integer(null=True, default=None)  # user id the round-robin gave the last ticket to


class TeamMember(Table, tablename="team_member"):
    id: Serial
    team = ForeignKey(references=Team, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)


class AuditEvent(Table, tablename="audit_event"):
    id: Serial
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    action = Varchar(length=64)
    subject = Varchar(length=128, default="")
    data = JSON(default="{}")
    ip = Varchar(length=64, default="")
    at = Timestamptz(index=True)


class AuthToken(Table, tablename="auth_token"):
    """A link token (verify, reset, invite): only its SHA-256 is stored, used once, expiring."""

    id: Serial
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
