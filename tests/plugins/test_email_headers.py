"""Both email channels refuse, when a template is given, header fields that would inject mail headers
(their herald_validate_template rule)."""

from __future__ import annotations

import pytest

from kernel.channels import ConfigError, MessageContent
from kernel.plugins import ChannelManager

EMAIL_CHANNELS = ["email.smtp", "email.sparkpost"]


@pytest.mark.parametrize("channel", EMAIL_CHANNELS)
@pytest.mark.parametrize("field", ["subject", "from_address", "from_name", "reply_to"])
@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_line_break_in_a_header_field_is_refused(
    manager: ChannelManager, channel: str, field: str, line_break: str
) -> None:
    template = MessageContent(text="Hi {{ first_name }}", **{field: f"x{line_break}Bcc: all@example.com"})
    with pytest.raises(ConfigError) as refused:
        manager.validate_template(channel, template)
    assert refused.value.field == field


@pytest.mark.parametrize("channel", EMAIL_CHANNELS)
def test_line_breaks_in_the_body_pass(manager: ChannelManager, channel: str) -> None:
    template = MessageContent(
        subject="Hello {{ first_name }}",
        from_name="Shop",
        reply_to="help@example.com",
        text="Line one\r\nLine two",
        html="<p>\n{% if vip %}VIP{% endif %}\n</p>",
    )
    manager.validate_template(channel, template)
