"""Test sends from the pages: "Send a test" on the template editor and on the campaign page, and the seed list
every test may also go to (campaigns/delivery/seed_sends.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from campaigns import (
    ChannelUnavailable,
    add_seed_address,
    list_seed_addresses,
    remove_seed_address,
    send_test_message,
)
from campaigns.models import CHANNELS
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("seed_list", __name__)


@bp.post("/templates/<int:template_id>/test")
def test_template(template_id: int):
    return _send_test(url_for("templates.edit", template_id=template_id), template_id=template_id)


@bp.post("/campaigns/<int:campaign_id>/test")
def test_campaign(campaign_id: int):
    return _send_test(url_for("campaigns.detail", campaign_id=campaign_id), campaign_id=campaign_id)


def _send_test(back: str, **source: int):
    """Queue the test, wake the sender, go back to the page it came from with what happened."""
    contact = request.form.get("contact_id", "").strip()
    addresses = request.form.get("addresses", "").replace(";", ",").replace("\n", ",").split(",")
    try:
        sent = send_test_message(get_session(), config=config(), now=now(), user_id=current_user.id,
                                 contact_id=int(contact) if contact.isdigit() else None, addresses=addresses,
                                 include_seeds=bool(request.form.get("include_seeds")), **source)
    except ChannelUnavailable as exc:
        flash(_("The channel cannot be opened, so nothing was sent: %(error)s", error=exc.message), "error")
        return redirect(back, 303)
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the embedded sender takes it now: someone is watching their inbox
    flash(_("Test sent to %(addresses)s.", addresses=", ".join(sent.addresses))
          + (" " + _("Dry run: written to the outbox folder, nothing is delivered.") if sent.dry_run else ""),
          "success")
    return redirect(back, 303)


@bp.get("/seeds")
def seeds():
    return render_template("templates/seeds.html", seeds=list_seed_addresses(get_session()), channels=CHANNELS)


@bp.post("/seeds")
def add_seed():
    seed = add_seed_address(get_session(), channel=request.form.get("channel", ""),
                            address=request.form.get("address", ""), label=request.form.get("label", ""),
                            region=config().default_region, now=now(), user_id=current_user.id)
    flash(_("%(address)s is on the seed list.", address=seed.address), "success")
    return redirect(url_for("seed_list.seeds"), 303)


@bp.post("/seeds/<int:seed_id>/delete")
def delete_seed(seed_id: int):
    remove_seed_address(get_session(), seed_id)
    flash(_("Taken off the seed list."), "success")
    return redirect(url_for("seed_list.seeds"), 303)
