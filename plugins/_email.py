"""What the email channels share: the template fields that become mail headers."""

from __future__ import annotations

from kernel.channels import ConfigError, MessageContent

#: Template fields written into headers (Subject, From, Reply-To): a line break in one would end the
#: header and start another of the author's choosing (a Bcc to anyone), so it is refused up front.
HEADER_FIELDS = ("subject", "from_address", "from_name", "reply_to")


def refuse_header_line_breaks(template: MessageContent) -> None:
    """Raise ConfigError naming the first header field with a CR or LF (the herald_validate_template
    rule of both email channels); a line break that only a variable's value brings is refused by the
    sender, message by message."""
    for name in HEADER_FIELDS:
        value: str = getattr(template, name)
        if "\r" in value or "\n" in value:
            raise ConfigError(name, "must not contain a line break (CR or LF): it would inject mail headers")
