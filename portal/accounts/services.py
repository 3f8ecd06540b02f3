"""Account services: every rule about who may sign up, sign in, reset, and manage users."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from piccolo.columns import Column

from portal.accounts import rules, tokens
from portal.accounts.passwords import hash_password, needs_rehash, verify_password
from portal.accounts.rules import Actor
from portal.accounts.tables import AuditEvent, Team, TeamMember, User
from portal.clock import timezone_problem, utcnow, zone_or_utc
from portal.db import fetch, ilike, required_row, write_transaction
from portal.errors import Forbidden, Invalid, NotFound, Throttled
from portal.jobs.queue import enqueue
from portal.mail.services import queue_mail
from portal.settings import get_settings
from portal.throttle import Throttle, minutes_text

LOGIN_FAILED = "Email or password is incorrect."


def _actor(row: dict) -> Actor:
    return Actor(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        timezone=row["timezone"],
        session_version=row["session_version"],
    )


async def actor_for_session(user_id: int, session_version: int) -> Actor | None:
    """The signed-in actor, or None when the account was deactivated or its sessions were ended."""
    row = (
        await User.select(
            User.id, User.email, User.name, User.role, User.timezone, User.session_version, User.is_active
        )
        .where(User.id == user_id)
        .first()
    )
    if row is None or not row["is_active"] or row["session_version"] != session_version:
        return None
    return _actor(row)


async def audit(actor_id: int | None, action: str, subject: str = "", data: dict | None = None, ip: str = "") -> None:
    await AuditEvent.insert(
        AuditEvent(
            actor=actor_id, action=action, subject=subject[:128], data=json.dumps(data or {}), ip=ip[:64], at=utcnow()
        )
    ).run()


def _link(path: str) -> str:
    return f"{get_settings().base_url}{path}"


# --- sign-up and verification -------------------------------------------------------------------


@dataclass
class SignUp:
    name: str
    email: str
    password: str
    timezone: str = "UTC"


def check_sign_up(form: SignUp) -> dict[str, str]:
    errors = {}
    email = rules.normalize_email(form.email)
    for field, problem in (
        ("name", rules.name_problem(form.name)),
        ("email", rules.email_problem(email)),
        ("password", rules.password_problem(form.password, email=email, name=form.name)),
    ):
        if problem:
            errors[field] = problem
    return errors


async def sign_up(form: SignUp, ip: str = "", throttle: Throttle | None = None) -> int | None:
    """Create a customer and mail a verification link; returns the new user's id. Sign-ups per IP are
    throttled, so the form cannot be used to flood someone's inbox with verification mails.

    An address that already has an account gets no new account and no hint: the owner is mailed
    instead (``_mail_existing_owner``) and None is returned; the caller answers exactly the same.
    Both branches hash the password, issue one link and queue one mail, so neither the time taken
    nor the work done tells a stranger whether the address is registered."""
    errors = check_sign_up(form)
    if errors:
        raise Invalid(errors=errors)
    if throttle is not None:
        settings = get_settings()
        wait = await throttle.retry_after(f"signup:{ip}", settings.login_max_per_ip)
        if wait:
            raise Throttled(f"Too many sign-ups from your network. Try again in {minutes_text(wait)}.", wait)
        await throttle.hit(f"signup:{ip}", settings.login_window_seconds)
    email = rules.normalize_email(form.email)
    # The zone comes from the browser, unseen: one we don't know must not block the sign-up.
    zone = zone_or_utc(form.timezone)
    password_hash = await hash_password(form.password)
    async with write_transaction():
        existing = (
            await User.select(User.id, User.name, User.is_active, User.email_verified_at)
            .where(User.email == email)
            .first()
        )
        if existing is not None:
            await _mail_existing_owner(existing, email, ip)
            return None
        rows = await User.insert(
            User(
                email=email,
                name=form.name.strip(),
                password_hash=password_hash,
                role="customer",
                timezone=zone,
                created_at=utcnow(),
            )
        ).run()
        user_id = rows[0]["id"]
        raw = await tokens.issue(user_id, "verify")
        await queue_mail(email, "verify_email", {"name": form.name.strip(), "link": _link(f"/verify/{raw}")})
        await audit(user_id, "account.sign_up", email, ip=ip)
    return user_id


async def _mail_existing_owner(owner: dict, email: str, ip: str) -> None:
    """Someone signed up with a registered address. A verified owner is told, with a link to sign in
    and one to reset the password; an unverified owner gets a fresh verification link, which asks
    for a new password when it is opened elsewhere than in the session that signed up."""
    if owner["email_verified_at"] is not None or not owner["is_active"]:
        raw = await tokens.issue(owner["id"], "reset")
        await queue_mail(
            email,
            "signup_existing",
            {"name": owner["name"], "login": _link("/login"), "link": _link(f"/password/reset/{raw}")},
        )
    else:
        raw = await tokens.issue(owner["id"], "verify")
        await queue_mail(email, "verify_email", {"name": owner["name"], "link": _link(f"/verify/{raw}")})
    await audit(owner["id"], "account.sign_up_existing", email, ip=ip)


async def verified_account_with(email: str) -> int | None:
    """The id of the active account whose owner proved ``email``, if any."""
    row = await verified_account(email)
    return row["id"] if row else None


async def verified_account(email: str) -> dict[str, Any] | None:
    """The id and name of the active account whose owner proved ``email``, if any."""
    row: dict[str, Any] | None = (
        await User.select(User.id, User.name)
        .where((User.email == email) & User.email_verified_at.is_not_null() & (User.is_active == True))
        .first()
    )
    return row


async def admin_addresses() -> list[str]:
    """Where mail for the admins goes (SLA breaches, held mail)."""
    rows = await User.select(User.email).where((User.role == "admin") & (User.is_active == True))
    return sorted(row["email"] for row in rows)


async def staff_by_email(email: str) -> Actor | None:
    """The active agent or admin with this address (a mailed reply from them is staff's)."""
    rows = await fetch(
        "SELECT id, email, name, role, timezone, session_version FROM portal_user "
        "WHERE email = {} AND is_active = {} AND role IN ('agent', 'admin')",
        email,
        True,
    )
    return _actor(rows[0]) if rows else None


async def verification_user(raw: str) -> int:
    """The account a live verification link belongs to (Invalid otherwise); does not use it up."""
    return (await tokens.peek(raw, ("verify",)))["user"]


async def verify_email(raw: str) -> Actor:
    """Verify from the session that signed up: the password it chose is the owner's."""
    async with write_transaction():
        token = await tokens.consume(raw, ("verify",))
        await _refuse_inactive(token["user"])
        await (
            User.update({User.email_verified_at: utcnow()})
            .where((User.id == token["user"]) & User.email_verified_at.is_null())
            .run()
        )
        row = required_row(await User.select().where(User.id == token["user"]).first())
        await audit(row["id"], "account.verified", row["email"])
    await _run_hooks(_ADDRESS_PROVEN, row["id"], row["email"])
    return _actor(row)


async def verify_with_password(raw: str, password: str, ip: str = "") -> Actor:
    """Verify from any other session: whoever signed up may not be the owner of the mailbox (account
    pre-hijacking), so the mailbox's owner sets the password, and every other session ends."""
    token = await tokens.peek(raw, ("verify",))
    row = required_row(await User.select(User.email, User.name).where(User.id == token["user"]).first())
    if problem := rules.password_problem(password, email=row["email"], name=row["name"]):
        raise Invalid(errors={"password": problem})
    password_hash = await hash_password(password)
    async with write_transaction():
        token = await tokens.consume(raw, ("verify",))
        await _refuse_inactive(token["user"])
        await (
            User.update(
                {
                    User.password_hash: password_hash,
                    User.session_version: User.session_version + 1,
                    User.email_verified_at: utcnow(),
                }
            )
            .where(User.id == token["user"])
            .run()
        )
        row = required_row(await User.select().where(User.id == token["user"]).first())
        await audit(row["id"], "account.verified_new_password", row["email"], ip=ip)
    await _run_hooks(_ADDRESS_PROVEN, row["id"], row["email"])
    return _actor(row)


async def _refuse_inactive(user_id: int) -> None:
    """A deactivated account's link changes nothing (raised inside the transaction: it rolls back)."""
    if not await User.exists().where((User.id == user_id) & (User.is_active == True)):
        raise Invalid(tokens.BAD_LINK)


async def resend_verification(email: str) -> None:
    """Send a fresh verification link to an unverified account; silent otherwise."""
    email = rules.normalize_email(email)
    async with write_transaction():
        row = (
            await User.select(User.id, User.name, User.is_active, User.email_verified_at)
            .where(User.email == email)
            .first()
        )
        if row is None or not row["is_active"] or row["email_verified_at"] is not None:
            return
        raw = await tokens.issue(row["id"], "verify")
        await queue_mail(email, "verify_email", {"name": row["name"], "link": _link(f"/verify/{raw}")})


# --- login --------------------------------------------------------------------------------------


async def authenticate(email: str, password: str, ip: str, throttle: Throttle) -> Actor:
    """Check credentials under per-IP and per-account throttles; one message for every failure."""
    settings = get_settings()
    email = rules.normalize_email(email)
    ip_key, account_key = f"login:ip:{ip}", f"login:account:{email}"
    wait = max(
        await throttle.retry_after(ip_key, settings.login_max_per_ip),
        await throttle.retry_after(account_key, settings.login_max_failures),
    )
    if wait:
        raise Throttled(f"Too many login attempts. Try again in {minutes_text(wait)}.", wait)
    row = await User.select().where(User.email == email).first() if len(email) <= rules.EMAIL_MAX else None
    ok = await verify_password(row["password_hash"] if row else None, password[: rules.PASSWORD_MAX * 4])
    if row is None or not ok or not row["is_active"]:  # no account: ok is False already
        # Failures only: colleagues behind one office address all sign in every morning.
        await throttle.hit(ip_key, settings.login_window_seconds)
        await throttle.hit(account_key, settings.login_window_seconds)
        raise Invalid(LOGIN_FAILED, errors={"password": LOGIN_FAILED})
    if row["email_verified_at"] is None:
        await resend_verification(email)
        raise Invalid("Please confirm your email address first: we have sent you a new link.")
    await throttle.clear(account_key)
    changes: dict[Column | str, Any] = {User.last_login_at: utcnow()}
    if needs_rehash(row["password_hash"]):
        changes[User.password_hash] = await hash_password(password)
    async with write_transaction():
        await User.update(changes).where(User.id == row["id"]).run()
        await audit(row["id"], "account.login", email, ip=ip)
    return _actor(row)


# --- password reset -----------------------------------------------------------------------------


async def request_password_reset(email: str, ip: str, throttle: Throttle) -> None:
    """Queue a reset request; the caller shows the same answer either way.

    The request only queues a job, for a known address and an unknown one alike, so neither the
    answer nor its timing tells a stranger whether an account exists; the job does the rest.
    """
    settings = get_settings()
    email = rules.normalize_email(email)
    key = f"reset:{ip}"
    wait = await throttle.retry_after(key, settings.login_max_per_ip)
    if wait:
        raise Throttled(f"Too many requests. Try again in {minutes_text(wait)}.", wait)
    await throttle.hit(key, settings.login_window_seconds)
    if rules.email_problem(email):
        return
    async with write_transaction():
        await enqueue("accounts.password_reset_request", {"email": email, "ip": ip[:64]})


async def mail_reset_link(email: str, ip: str = "") -> None:
    """Runs as a job: mail a reset link when an active account has this address, else nothing."""
    async with write_transaction():
        row = await User.select(User.id, User.name, User.is_active).where(User.email == email).first()
        if row is None or not row["is_active"]:
            return
        raw = await tokens.issue(row["id"], "reset")
        await queue_mail(email, "password_reset", {"name": row["name"], "link": _link(f"/password/reset/{raw}")})
        await audit(row["id"], "account.reset_requested", email, ip=ip)


async def reset_link_purpose(raw: str) -> str:
    """``reset`` or ``invite`` for a live link (the page wording differs); Invalid otherwise."""
    return (await tokens.peek(raw, ("reset", "invite")))["purpose"]


async def reset_password(raw: str, password: str, ip: str = "") -> Actor:
    """Set a new password from a link; ends every session of the account and proves the email."""
    token = await tokens.peek(raw, ("reset", "invite"))
    row = required_row(await User.select(User.email, User.name).where(User.id == token["user"]).first())
    problem = rules.password_problem(password, email=row["email"], name=row["name"])
    if problem:
        raise Invalid(errors={"password": problem})
    password_hash = await hash_password(password)
    async with write_transaction():
        token = await tokens.consume(raw, ("reset", "invite"))
        await _refuse_inactive(token["user"])
        now = utcnow()
        await (
            User.update(
                {
                    User.password_hash: password_hash,
                    User.session_version: User.session_version + 1,
                    User.email_verified_at: now,
                }
            )
            .where(User.id == token["user"])
            .run()
        )
        user = required_row(await User.select().where(User.id == token["user"]).first())
        await audit(user["id"], f"account.password_{token['purpose']}", user["email"], ip=ip)
    await _run_hooks(_ADDRESS_PROVEN, user["id"], user["email"])
    return _actor(user)


# --- profile ------------------------------------------------------------------------------------


async def profile(actor: Actor) -> dict[str, Any]:
    return required_row(
        await User.select(User.id, User.email, User.name, User.timezone, User.role, User.created_at)
        .where(User.id == actor.id)
        .first()
    )


async def update_profile(actor: Actor, name: str, timezone: str) -> None:
    errors = {k: v for k, v in (("name", rules.name_problem(name)), ("timezone", timezone_problem(timezone))) if v}
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        await User.update({User.name: name.strip(), User.timezone: timezone}).where(User.id == actor.id).run()
        await audit(actor.id, "account.profile_updated", actor.email)


async def change_password(actor: Actor, current: str, new: str, ip: str = "") -> int:
    """Returns the new session version: the caller keeps its own session, every other one ends."""
    row = required_row(await User.select(User.password_hash).where(User.id == actor.id).first())
    if not await verify_password(row["password_hash"], current[: rules.PASSWORD_MAX * 4]):
        raise Invalid(errors={"current_password": "That is not your current password."})
    problem = rules.password_problem(new, email=actor.email, name=actor.name)
    if problem:
        raise Invalid(errors={"new_password": problem})
    password_hash = await hash_password(new)
    async with write_transaction():
        await (
            User.update({User.password_hash: password_hash, User.session_version: User.session_version + 1})
            .where(User.id == actor.id)
            .run()
        )
        await audit(actor.id, "account.password_changed", actor.email, ip=ip)
        row = required_row(await User.select(User.session_version).where(User.id == actor.id).first())
    return row["session_version"]


# --- users (admins) -----------------------------------------------------------------------------

USERS_PAGE = 50


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators manage users.")


def _user_columns(*more: Column) -> list[Column]:
    """What the admin sees of an account (``pw`` only says whether a password was ever set)."""
    return [
        User.id,
        User.email,
        User.name,
        User.role,
        User.is_active,
        User.email_verified_at,
        User.last_login_at,
        User.password_hash.as_alias("pw"),
        *more,
    ]


async def list_users(actor: Actor, *, q: str = "", role: str = "", after: str = "") -> tuple[list[dict], str | None]:
    """Users ordered by email, keyset-paginated (``after`` = last email of the previous page)."""
    _require_admin(actor)
    query = User.select(*_user_columns())
    query = query.order_by(User.email).limit(USERS_PAGE + 1)
    if q:
        needle = f"%{q.strip().lower()[:100]}%"
        query = query.where(User.email.like(needle) | ilike(User.name, needle))
    if role in rules.ROLES:
        query = query.where(User.role == role)
    if after:
        query = query.where(User.email > after)
    rows = await query
    for row in rows:
        row["invited"] = not row.pop("pw")
    next_after = rows[USERS_PAGE - 1]["email"] if len(rows) > USERS_PAGE else None
    return rows[:USERS_PAGE], next_after


async def _managed_user(actor: Actor, user_id: int) -> dict:
    _require_admin(actor)
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound("No such user.")
    if not rules.can_manage_user(actor, row["id"], row["role"]):
        raise Forbidden("You cannot change your own role or deactivate yourself.")
    return row


async def invite_user(actor: Actor, email: str, name: str, role: str, ip: str = "") -> int:
    """Create an agent/admin account without a password and mail them a link to set one."""
    _require_admin(actor)
    email = rules.normalize_email(email)
    errors = {k: v for k, v in (("email", rules.email_problem(email)), ("name", rules.name_problem(name))) if v}
    if role not in ("agent", "admin"):
        errors["role"] = "Invite an agent or an administrator."
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        if await User.exists().where(User.email == email):
            raise Invalid(errors={"email": "A user with this email already exists: change their role instead."})
        rows = await User.insert(User(email=email, name=name.strip(), role=role, created_at=utcnow())).run()
        user_id = rows[0]["id"]
        raw = await tokens.issue(user_id, "invite")
        await queue_mail(
            email,
            "invite",
            {"name": name.strip(), "inviter": actor.name, "role": role, "link": _link(f"/password/reset/{raw}")},
        )
        await audit(actor.id, "user.invited", email, {"role": role}, ip=ip)
    return user_id


# Other domains react to what happens to an account, without accounts knowing them (it sits below
# every domain): the app factory registers their hooks. Each runs with the account's id and address.
AccountHook = Callable[[int, str], Awaitable[object]]
_STAFF_ACCESS_ENDED: list[AccountHook] = []  # demoted to customer or deactivated (inside that transaction)
_ADDRESS_PROVEN: list[AccountHook] = []  # the owner proved the address (guest tickets and bookings join)


# Before an account is deactivated, each check may object (a sentence shown to the admin): booking
# refuses while the staff member still has upcoming appointments. Checks get the id and name.
DeactivationCheck = Callable[[int, str], Awaitable[str | None]]
_DEACTIVATION_CHECKS: list[DeactivationCheck] = []


def before_deactivation(check: DeactivationCheck) -> None:
    if check not in _DEACTIVATION_CHECKS:
        _DEACTIVATION_CHECKS.append(check)


async def _objection_to_deactivating(user_id: int, name: str) -> str | None:
    for check in _DEACTIVATION_CHECKS:
        if objection := await check(user_id, name):
            return objection
    return None


def on_staff_access_ended(hook: AccountHook) -> None:
    _register(_STAFF_ACCESS_ENDED, hook)


def on_address_proven(hook: AccountHook) -> None:
    _register(_ADDRESS_PROVEN, hook)


def _register(hooks: list[AccountHook], hook: AccountHook) -> None:
    if hook not in hooks:
        hooks.append(hook)


async def _run_hooks(hooks: list[AccountHook], user_id: int, email: str) -> None:
    for hook in hooks:
        await hook(user_id, email)


async def change_role(actor: Actor, user_id: int, role: str, ip: str = "") -> None:
    if role not in rules.ROLES:
        raise Invalid(errors={"role": "Choose customer, agent or admin."})
    async with write_transaction():
        row = await _managed_user(actor, user_id)
        if row["role"] == role:
            return
        # A role change ends the user's sessions so their navigation and rights change at once.
        await (
            User.update({User.role: role, User.session_version: User.session_version + 1})
            .where(User.id == user_id)
            .run()
        )
        if role == "customer":
            await TeamMember.delete().where(TeamMember.user == user_id).run()
            await _run_hooks(_STAFF_ACCESS_ENDED, user_id, row["email"])
        await audit(actor.id, "user.role_changed", row["email"], {"from": row["role"], "to": role}, ip=ip)


async def set_active(actor: Actor, user_id: int, active: bool, ip: str = "") -> None:
    async with write_transaction():
        row = await _managed_user(actor, user_id)
        if row["is_active"] == active:
            return
        if not active and (objection := await _objection_to_deactivating(user_id, row["name"])):
            raise Invalid(objection)
        await (
            User.update({User.is_active: active, User.session_version: User.session_version + 1})
            .where(User.id == user_id)
            .run()
        )
        if not active:
            await _run_hooks(_STAFF_ACCESS_ENDED, user_id, row["email"])
        await audit(actor.id, "user.activated" if active else "user.deactivated", row["email"], ip=ip)


async def user_detail(actor: Actor, user_id: int) -> dict:
    """One account for the admin's user page (admins only; an unknown id is NotFound)."""
    _require_admin(actor)
    row = await User.select(*_user_columns(User.timezone, User.created_at)).where(User.id == user_id).first()
    if row is None:
        raise NotFound("No such user.")
    row["invited"] = not row.pop("pw")
    return row


async def update_user(actor: Actor, user_id: int, name: str, email: str, ip: str = "") -> bool:
    """An admin corrects someone's name or address; returns whether the address changed.

    A new address must be free and is not proven: the account's sessions end, it must confirm the
    new address at its next login, and the old address is told, so a change is never silent."""
    row = await user_detail(actor, user_id)
    if user_id == actor.id:
        raise Forbidden("Change your own name and address on your account page.")
    email = rules.normalize_email(email)
    errors = {k: v for k, v in (("email", rules.email_problem(email)), ("name", rules.name_problem(name))) if v}
    if errors:
        raise Invalid(errors=errors)
    moved = email != row["email"]
    changes: dict[Column | str, Any] = {User.name: name.strip()}
    async with write_transaction():
        if moved:
            if await User.exists().where(User.email == email):
                raise Invalid(errors={"email": "Another account already uses this address."})
            changes.update({User.email: email, User.email_verified_at: None})
            changes[User.session_version] = User.session_version + 1
            await queue_mail(row["email"], "email_changed", {"name": row["name"], "email": email})
        await User.update(changes).where(User.id == user_id).run()
        data = {"from": row["email"], "to": email} if moved else {}
        await audit(actor.id, "user.updated", email, {**data, "name": name.strip()}, ip=ip)
    return moved


async def send_reset(actor: Actor, user_id: int, ip: str = "") -> str:
    """Mail the account a reset link through the same job a reset request queues; returns the address."""
    row = await user_detail(actor, user_id)
    if not row["is_active"]:
        raise Invalid("This account is deactivated: reactivate it before sending a reset link.")
    async with write_transaction():
        await enqueue("accounts.password_reset_request", {"email": row["email"], "ip": ip[:64]})
        await audit(actor.id, "user.reset_sent", row["email"], ip=ip)
    return row["email"]


# --- used by the CLI and the demo ---------------------------------------------------------------


async def create_user(
    email: str, name: str, password: str, role: str = "customer", timezone: str = "UTC", check_password: bool = True
) -> tuple[int, bool]:
    """Create a verified user, or update the role/name of an existing one; returns (id, created)."""
    email = rules.normalize_email(email)
    problems = {
        k: v
        for k, v in (
            ("email", rules.email_problem(email)),
            ("name", rules.name_problem(name)),
            ("role", None if role in rules.ROLES else "unknown role"),
        )
        if v
    }
    if check_password and (problem := rules.password_problem(password, email=email, name=name)):
        problems["password"] = problem
    if problems:
        raise Invalid(errors=problems)
    existing = await User.select(User.id).where(User.email == email).first()
    if existing:
        async with write_transaction():
            await User.update({User.role: role, User.name: name}).where(User.id == existing["id"]).run()
        return existing["id"], False
    password_hash = await hash_password(password)
    async with write_transaction():
        rows = await User.insert(
            User(
                email=email,
                name=name,
                password_hash=password_hash,
                role=role,
                timezone=timezone,
                email_verified_at=utcnow(),
                created_at=utcnow(),
            )
        ).run()
    return rows[0]["id"], True


async def ensure_team(name: str, member_ids: list[int]) -> int:
    async with write_transaction():
        team = await Team.select(Team.id).where(Team.name == name).first()
        team_id = team["id"] if team else (await Team.insert(Team(name=name, created_at=utcnow())).run())[0]["id"]
        present = {r["user"] for r in await TeamMember.select(TeamMember.user).where(TeamMember.team == team_id)}
        for user_id in member_ids:
            if user_id not in present:
                await TeamMember.insert(TeamMember(team=team_id, user=user_id)).run()
    return team_id
