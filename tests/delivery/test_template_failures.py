"""A recipient whose template cannot be rendered (a resource limit) fails alone: the others of its provider
batch are personalised and sent as usual."""

from __future__ import annotations

from herald.v1 import messages_pb2
from tests.delivery.conftest import EMAIL
from tests.delivery.support import adds_up, completed, person, rows, send_request

#: ``n`` dots: past 10,000 the loop iteration limit stops the render.
DOTS = messages_pb2.MessageTemplate(
    subject="Hi {{ first_name }}", html="<p>{% for i in (1..n) %}.{% endfor %}{{ custom_id }}</p>"
)


async def test_a_recipient_whose_template_fails_is_failed_alone(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann", n=2)
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob", n=20_000)
    await person(profiles, configured, "cyd", email="cyd@example.com", first_name="Cyd", n=3)
    send = await messages.CreateSend(send_request(templates={EMAIL: DOTS}), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.failed) == (3, 2, 1) and adds_up(done)

    emails = {record["email"]: record for record in sparkpost.accepted}
    assert emails.keys() == {"ann@example.com", "cyd@example.com"}
    assert (emails["ann@example.com"]["subject"], emails["ann@example.com"]["html"]) == (
        "Hi Ann",
        "<p>..ann</p>",
    )
    assert emails["cyd@example.com"]["html"] == "<p>...cyd</p>"
    outcomes = {
        row["address"]: (row["status"], row["failure_reason"])
        for row in await rows(db, configured, send.send_id)
    }
    assert outcomes["bob@example.com"] == ("failed", "template")
    assert outcomes["ann@example.com"][0] == outcomes["cyd@example.com"][0] == "sent"
