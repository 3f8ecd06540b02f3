"""Form bodies. Every field is a string with a default, so a short or odd form still parses and
gets a message from the rules instead of a JSON 400."""

import msgspec


class SignUpForm(msgspec.Struct):
    name: str = ""
    email: str = ""
    password: str = ""
    timezone: str = "UTC"


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


class EmailForm(msgspec.Struct):
    email: str = ""


class NewPasswordForm(msgspec.Struct):
    password: str = ""


class ProfileForm(msgspec.Struct):
    name: str = ""
    timezone: str = "UTC"


class ChangePasswordForm(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""


class InviteForm(msgspec.Struct):
    email: str = ""
    name: str = ""
    role: str = "agent"


class RoleForm(msgspec.Struct):
    role: str = ""


class ActiveForm(msgspec.Struct):
    active: str = ""


class UserForm(msgspec.Struct):
    name: str = ""
    email: str = ""
