"""The one Piccolo app, ``portal``: every table of every domain, migrations in <repo>/migrations."""

from piccolo.conf.apps import AppConfig

from portal.accounts.tables import AuditEvent, AuthToken, Team, TeamMember, User
from portal.booking.tables import (
    Appointment,
    DateOverride,
    Holiday,
    Service,
    ServiceStaff,
    StaffFeed,
    TimeOff,
    WeeklyHours,
)
from portal.jobs.tables import Job
from portal.mail.tables import BouncedAddress, Mailbox, OutboundMail
from portal.mailin.tables import InboundMail
from portal.settings import REPO_ROOT
from portal.tickets.tables import (
    Attachment,
    BusinessCalendar,
    BusinessHours,
    CannedReply,
    Category,
    Message,
    QueueTally,
    SavedView,
    SlaPolicy,
    Tag,
    Ticket,
    TicketEvent,
    TicketParticipant,
    TicketSeen,
    TicketTag,
    TicketToken,
)

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(REPO_ROOT / "migrations"),
    table_classes=[
        User,
        Team,
        TeamMember,
        AuditEvent,
        AuthToken,
        Job,
        OutboundMail,
        Mailbox,
        BouncedAddress,
        InboundMail,
        TicketParticipant,
        Category,
        Ticket,
        Message,
        Attachment,
        TicketToken,
        TicketEvent,
        Tag,
        TicketTag,
        CannedReply,
        SavedView,
        TicketSeen,
        QueueTally,
        BusinessCalendar,
        BusinessHours,
        SlaPolicy,
        Service,
        ServiceStaff,
        WeeklyHours,
        DateOverride,
        Holiday,
        TimeOff,
        Appointment,
        StaffFeed,
    ],
    migration_dependencies=[],
    commands=[],
)
