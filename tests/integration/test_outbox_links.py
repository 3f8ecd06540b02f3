"""The outbox shows a mail's text with its links clickable (http and https only, escaped), and
keeps secret links masked once the mail was delivered elsewhere."""

from __future__ import annotations

import re

from portal.db import write_transaction
from portal.jobs.worker import drain
from portal.mail.tables import OutboundMail
from tests.conftest import link_in


async def _reset_mail(make_browser, make_user):
    await make_user("root@example.org", "admin")
    await make_user("bob@example.org")
    admin = await make_browser()
    await admin.login("root@example.org")
    await admin.post("/password/forgot", {"email": "bob@example.org"})
    await drain()
    mail = (await OutboundMail.select().where(OutboundMail.to_address == "bob@example.org"))[-1]
    return admin, mail


def mail_text(page: str) -> str:
    return re.search(r'<pre class="mail-body" id="mail-text">(.*?)</pre>', page, re.S).group(1)


async def test_outbox_links_are_clickable(make_browser, make_user):
    admin, mail = await _reset_mail(make_browser, make_user)
    link = link_in(mail["body_text"], "/password/reset/")
    text = mail_text((await admin.get(f"/back/outbox/{mail['id']}")).text)
    assert f'<a href="http://testserver{link}" rel="noreferrer noopener">http://testserver{link}</a>' in text


async def test_outbox_links_stay_masked_and_hostile_text_stays_text(make_browser, make_user):
    admin, mail = await _reset_mail(make_browser, make_user)
    body = mail["body_text"] + '\nSee javascript:alert(1) and http://e.org/"><script>x</script> and data:text/html,x'
    async with write_transaction():  # as if delivered over SMTP: secret links are masked
        await (
            OutboundMail.update({OutboundMail.status: "sent", OutboundMail.body_text: body})
            .where(OutboundMail.id == mail["id"])
            .run()
        )
    text = mail_text((await admin.get(f"/back/outbox/{mail['id']}")).text)
    assert "/password/reset/…" in text and 'href="http://testserver/password/reset/' not in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert '<a href="http://e.org/"' in text
    assert 'href="javascript' not in text and 'href="data' not in text
