"""The MIME message Herald sends for one email."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from kernel.channels import OutboundMessage

#: RFC 5322 atext minus "@": what may appear in a Message-ID's left part without quoting.
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")


def message_id_header(message_id: str, from_address: str) -> str:
    """A Message-ID derived from Herald's message id, so bounces and replies lead back to it."""
    domain = from_address.rpartition("@")[2] or "herald.invalid"
    return f"<{_NOT_ATEXT.sub('-', message_id).strip('.') or 'message'}@{domain}>"


def build_mime(message: OutboundMessage, from_address: str, from_name: str) -> EmailMessage:
    """multipart/alternative when there is both text and HTML; raises ValueError for bad headers."""
    content = message.content
    mime = EmailMessage()
    mime["From"] = formataddr((from_name, from_address))
    mime["To"] = message.address
    mime["Subject"] = content.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message_id_header(message.message_id, from_address)
    mime["X-Herald-Message-Id"] = message.message_id
    if content.reply_to:
        mime["Reply-To"] = content.reply_to
    if content.url:
        # RFC 2369: lets mail clients offer their own unsubscribe button.
        mime["List-Unsubscribe"] = f"<{content.url}>"
    if content.html and content.text:
        mime.set_content(content.text)
        mime.add_alternative(content.html, subtype="html")
    elif content.html:
        mime.set_content(content.html, subtype="html")
    else:
        mime.set_content(content.text)
    return mime
