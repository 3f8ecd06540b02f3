"""Sign-up, verification, login/logout, password reset and the profile page."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Response, Template

from portal.accounts import forms, services
from portal.errors import DomainError, Invalid
from portal.throttle import Throttle
from portal.web.access import signed_in_actor
from portal.web.auth import current_actor, sign_in, sign_out
from portal.web.responses import after_post, client_ip, flash, form_error, page_or_fragment, safe_next

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def _throttle(request: Request) -> Throttle:
    return Throttle(request.app.stores.get("throttle"))


def _home_for(actor) -> str:
    return "/back" if actor.is_staff else "/"


SIGNED_UP = "signed_up"


def _signed_up_here(request: Request) -> list[int]:
    """The accounts this session created: only here does a verification link keep their password."""
    return [i for i in request.session.get(SIGNED_UP, []) if isinstance(i, int)]


def _remember_sign_up(request: Request, user_id: int | None) -> None:
    """Mark the session that signed up. It is written for an address that already had an account too
    (with nothing added), so that both answers carry the same cookies."""
    ids = _signed_up_here(request)[-4:] + ([user_id] if user_id is not None else [])
    request.set_session({**request.session, SIGNED_UP: ids})


def _form_page(request: Request, page: str, **context: Any) -> Template:
    """An accounts page with its form: the whole page, or for htmx its ``_<page>_form.html`` part."""
    return page_or_fragment(request, f"accounts/{page}.html", f"accounts/_{page}_form.html", {"errors": {}, **context})


def _refused(request: Request, page: str, error: DomainError, **context: Any) -> Template:
    """The same page and form part again, with the error's messages."""
    return form_error(request, f"accounts/{page}.html", f"accounts/_{page}_form.html", context, error)


def _link_problem(error: Invalid) -> Template:
    """A mailed link that no longer works: a page that says why, not a form."""
    return Template("accounts/link_problem.html", context={"message": error.message}, status_code=400)


class AccountController(Controller):
    @get("/signup", name="accounts:signup")
    async def signup_page(self, request: Request) -> Template:
        return _form_page(request, "signup", form=forms.SignUpForm())

    @post("/signup", name="accounts:signup_submit")
    async def signup(self, request: Request, data: Annotated[forms.SignUpForm, FORM]) -> Response:
        try:
            user_id = await services.sign_up(
                services.SignUp(data.name, data.email, data.password, data.timezone or "UTC"),
                ip=client_ip(request),
                throttle=_throttle(request),
            )
        except DomainError as error:
            return _refused(request, "signup", error, form=data)
        _remember_sign_up(request, user_id)
        return page_or_fragment(
            request,
            "accounts/check_email.html",
            "accounts/_check_email.html",
            {"email": data.email.strip().lower()},
            status_code=201,
        )

    @get("/verify/{token:str}", name="accounts:verify")
    async def verify(self, request: Request, token: FromPath[str]) -> Response:
        try:
            if await services.verification_user(token) not in _signed_up_here(request):
                return Template("accounts/verify_password.html", context={"token": token, "errors": {}})
            actor = await services.verify_email(token)
        except Invalid as error:
            return _link_problem(error)
        # This session chose the password moments ago: signing it in proves no more than logging in
        # would, and sign_in gives it a fresh session id as login does.
        sign_in(request, actor)
        flash(request, "Your email address is confirmed and you are signed in.")
        return after_post(request, _home_for(actor))

    @post("/verify/{token:str}", name="accounts:verify_submit")
    async def verify_with_password(
        self, request: Request, token: FromPath[str], data: Annotated[forms.NewPasswordForm, FORM]
    ) -> Response:
        try:
            actor = await services.verify_with_password(token, data.password, ip=client_ip(request))
        except Invalid as error:
            if not error.errors:
                return _link_problem(error)
            return _refused(request, "verify_password", error, token=token)
        sign_in(request, actor)
        flash(request, "Your email address is confirmed and your password is set.")
        return after_post(request, _home_for(actor))

    @get("/login", name="accounts:login")
    async def login_page(self, request: Request, next: FromQuery[str] = "") -> Response:
        actor = current_actor(request)
        if actor:
            return after_post(request, safe_next(next, _home_for(actor)))
        return _form_page(request, "login", form=forms.LoginForm(next=safe_next(next, "")))

    @post("/login", name="accounts:login_submit")
    async def login(self, request: Request, data: Annotated[forms.LoginForm, FORM]) -> Response:
        try:
            actor = await services.authenticate(data.email, data.password, client_ip(request), _throttle(request))
        except DomainError as error:
            error.errors = {}  # one message above the form; never say which field was wrong
            return _refused(
                request, "login", error, form=forms.LoginForm(email=data.email, next=safe_next(data.next, ""))
            )
        sign_in(request, actor)
        flash(request, f"Welcome back, {actor.name}.")
        return after_post(request, safe_next(data.next, _home_for(actor)))

    @post("/logout", name="accounts:logout")
    async def logout(self, request: Request) -> Response:
        sign_out(request)
        return after_post(request, "/")

    @get("/password/forgot", name="accounts:forgot")
    async def forgot_page(self, request: Request) -> Template:
        return _form_page(request, "forgot", form=forms.EmailForm())

    @post("/password/forgot", name="accounts:forgot_submit")
    async def forgot(self, request: Request, data: Annotated[forms.EmailForm, FORM]) -> Response:
        try:
            await services.request_password_reset(data.email, client_ip(request), _throttle(request))
        except DomainError as error:
            return _refused(request, "forgot", error, form=data)
        return _form_page(request, "forgot", form=forms.EmailForm(), sent=True)

    @get("/password/reset/{token:str}", name="accounts:reset")
    async def reset_page(self, request: Request, token: FromPath[str]) -> Template:
        try:
            purpose = await services.reset_link_purpose(token)
        except Invalid as error:
            return _link_problem(error)
        return _form_page(request, "reset", token=token, purpose=purpose)

    @post("/password/reset/{token:str}", name="accounts:reset_submit")
    async def reset(
        self, request: Request, token: FromPath[str], data: Annotated[forms.NewPasswordForm, FORM]
    ) -> Response:
        try:
            purpose = await services.reset_link_purpose(token)
            await services.reset_password(token, data.password, ip=client_ip(request))
        except Invalid as error:
            if not error.errors:
                return _link_problem(error)
            return _refused(request, "reset", error, token=token, purpose=purpose)
        sign_out(request)
        flash(request, "Your password is set. Log in with it now.")
        return after_post(request, "/login")


class ProfileController(Controller):
    path = "/account"

    async def _context(self, request: Request, **extra) -> dict:
        user = await services.profile(signed_in_actor(request))
        return {"profile": user, "errors": {}, **extra}

    @get("/", name="accounts:profile")
    async def show(self, request: Request) -> Template:
        return Template("accounts/profile.html", context=await self._context(request))

    @post("/", name="accounts:profile_submit")
    async def update(self, request: Request, data: Annotated[forms.ProfileForm, FORM]) -> Response:
        try:
            await services.update_profile(signed_in_actor(request), data.name, data.timezone)
        except DomainError as error:
            context = await self._context(request)
            context["profile"] = {**context["profile"], "name": data.name, "timezone": data.timezone}
            return form_error(request, "accounts/profile.html", "accounts/_profile_form.html", context, error)
        flash(request, "Your profile is saved.")
        return after_post(request, "/account")

    @post("/password", name="accounts:password_change")
    async def change_password(self, request: Request, data: Annotated[forms.ChangePasswordForm, FORM]) -> Response:
        actor = signed_in_actor(request)
        try:
            version = await services.change_password(
                actor, data.current_password, data.new_password, ip=client_ip(request)
            )
        except DomainError as error:
            context = await self._context(request)
            return form_error(request, "accounts/profile.html", "accounts/_password_form.html", context, error)
        sign_in(request, replace(actor, session_version=version))
        flash(request, "Your password is changed. Every other session of your account has been signed out.")
        return after_post(request, "/account")
