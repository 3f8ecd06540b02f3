"""The files a person chose in a multipart form, read the one way every upload form shares.

A browser submits a file input with nothing chosen as an empty part (``filename=""``, no content).
Litestar's parser turns that part into the string ``""``, so a form dataclass that declares
``files: list[UploadFile]`` refuses the whole request with a 400 ("That request could not be read")
before any validation runs. Form dataclasses therefore never declare file fields: controllers read
them here, from the parsed form, keeping only real file parts.
"""

from __future__ import annotations

from litestar.datastructures import UploadFile

from portal.web.connection import PortalRequest


async def chosen_files(request: PortalRequest, name: str) -> list[UploadFile]:
    """The real files sent under ``name`` (the empty part of an untouched file input is left out)."""
    form = await request.form()
    return [item for item in form.getall(name) if isinstance(item, UploadFile)] if name in form else []
