"""The template gallery: ready templates and the company's own, previewed for a contact with the pre-send
checks, copied into one's templates; a template saved to it from the editor (campaigns/content/gallery)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from audiences import list_contacts
from campaigns import copy_to_templates, delete_saved, gallery_entries, get_entry, preview_template, save_to_gallery
from campaigns.content.gallery import GROUPS, LANGUAGES, SAVED_GROUP
from campaigns.models import CHANNELS
from web.db import get_session
from web.pages.check_words import findings_for_page, level_label
from web.pages.context import check_settings, config, now, sms_as_sent, sms_max_length

bp = Blueprint("gallery", __name__)

PREVIEW_CONTACTS = 50


def group_labels() -> dict[str, str]:
    return {"holiday": _("Holidays"), "care": _("Birthdays and member days"), "lifecycle": _("Welcome and win-back"),
            "event": _("Events"), "order": _("Orders"), SAVED_GROUP: _("Your company's templates")}


def language_labels() -> dict[str, str]:
    return {"en": _("English"), "zh_CN": _("简体中文")}


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.values.get(name, default)
    return value if value in allowed else default


def _default_language() -> str:
    """The reader's language when the gallery has it: Chinese readers see the 简体中文 templates first."""
    return "zh_CN" if str(get_locale() or "").startswith("zh") else "en"


@bp.get("/gallery")
def index():
    language = _choice("language", LANGUAGES, _default_language())
    channel = _choice("channel", CHANNELS, "sms")
    entries = gallery_entries(get_session(), language=language, channel=channel)
    groups = [(group, [e for e in entries if e.group == group]) for group in (*GROUPS, SAVED_GROUP)]
    return render_template("gallery/index.html", groups=[g for g in groups if g[1]], language=language,
                           channel=channel, group_labels=group_labels(), language_labels=language_labels(),
                           channels=CHANNELS, gallery_languages=LANGUAGES)


@bp.get("/gallery/<key>")
def show(key: str):
    language = _choice("language", LANGUAGES, _default_language())
    channel = _choice("channel", CHANNELS, "sms")
    session = get_session()
    entry = get_entry(session, key, language=language, channel=channel)
    contact = request.args.get("contact_id", "")
    preview = preview_template(session, channel=entry.channel, contact_id=int(contact) if contact.isdigit() else None,
                               base_url=config().base_url, tracking=config().tracking,
                               as_sent=sms_as_sent(entry.channel), checks=check_settings(), **entry.parts)
    return render_template("gallery/show.html", entry=entry, preview=preview, level_label=level_label,
                           findings=findings_for_page(preview.checks),
                           contacts=list_contacts(session, per_page=PREVIEW_CONTACTS).items,
                           language_labels=language_labels(), group_labels=group_labels(),
                           sms_signed=bool(sms_as_sent("sms")))


@bp.post("/gallery/<key>/copy")
def copy(key: str):
    session = get_session()
    entry = get_entry(session, key, language=_choice("language", LANGUAGES, "en"),
                      channel=_choice("channel", CHANNELS, "sms"))
    template = copy_to_templates(session, entry, name=request.form.get("name", ""),
                                 signature=request.form.get("signature", ""), now=now(),
                                 sms_max_length=sms_max_length())
    flash(_("“%(name)s” is now one of your templates: change what you like, then use it in a campaign.",
            name=template.name), "success")
    return redirect(url_for("templates.edit", template_id=template.id), 303)


@bp.post("/gallery/<key>/delete")
def delete(key: str):
    saved = key.removeprefix("saved-")
    if not saved.isdigit():
        flash(_("Only your company's own templates can be taken out of the gallery."), "error")
        return redirect(url_for("gallery.index"), 303)
    delete_saved(get_session(), int(saved))
    flash(_("Taken out of the gallery. Templates copied from it stay."), "success")
    return redirect(url_for("gallery.index"), 303)


@bp.post("/templates/<int:template_id>/gallery")
def save(template_id: int):
    saved = save_to_gallery(get_session(), template_id, title=request.form.get("title", ""),
                            language=_choice("language", LANGUAGES, "en"), now=now(), user_id=current_user.id)
    flash(_("“%(title)s” is in the gallery for your whole team.", title=saved.title), "success")
    return redirect(url_for("gallery.show", key=f"saved-{saved.id}", language=saved.language,
                            channel=saved.channel), 303)
