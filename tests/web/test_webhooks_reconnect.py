"""A status callback whose database connection dies under it is applied once more on a fresh connection.

The engine no longer pings on checkout (core.db), so a connection lost in a way the socket does not
show yet fails on first use; the status webhooks retry exactly once, which forward-only moves make safe.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, select

from campaigns.models import Message, MessageEvent
from tests.core.test_db_reconnect import terminate
from tests.web import test_webhooks
from tests.web.test_webhooks import callback, post_signed

# The status webhook's own fixtures: its Twilio channel and public URL, CSRF on, one sent SMS.
config, client, sent_message = test_webhooks.config, test_webhooks.client, test_webhooks.sent_message


def kill_connection_on_first_statement(database, times: int = 1) -> list[int]:
    """Terminate the backend under the next `times` statements, as a dropped network path would."""
    killed: list[int] = []

    def before(conn, _cursor, _statement, _params, _context, _many):
        if len(killed) < times:
            pid = conn.connection.dbapi_connection.info.backend_pid
            killed.append(pid)
            terminate(pid)

    event.listen(database.engine, "before_cursor_execute", before)
    return killed


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_callback_on_a_connection_that_died_is_applied_on_a_new_one(backend, client, database, session,
                                                                      sent_message):
    killed = kill_connection_on_first_statement(database)
    response = post_signed(client, sent_message, callback(sent_message, "delivered", Price="-0.00790",
                                                          PriceUnit="USD", NumSegments="2"))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert len(killed) == 1
    message = session.get(Message, sent_message.id, populate_existing=True)
    assert (message.status, message.segments, message.cost) == ("delivered", 2, Decimal("0.0079"))
    events = session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == sent_message.id,
                                                             MessageEvent.type == "delivered")).all()
    assert events == ["delivered"]  # applied once: the first try never reached the database


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_second_dead_connection_is_a_server_error_not_a_loop(backend, client, database, session, sent_message):
    killed = kill_connection_on_first_statement(database, times=2)
    with pytest.raises(Exception) as raised:  # testing mode propagates; gunicorn answers 500 and Twilio retries
        post_signed(client, sent_message, callback(sent_message, "delivered"))
    assert "terminat" in str(raised.value) or "closed" in str(raised.value)
    assert len(killed) == 2
    assert session.get(Message, sent_message.id, populate_existing=True).status == "sent"
