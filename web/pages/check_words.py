"""The pre-send checks (campaigns/content/checks) in the reader's language: one sentence per finding code,
filled with the finding's values. The API gives the English `message`; the pages show these."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from campaigns.content.checks import Finding


def finding_text(finding: Finding) -> str:
    v = finding.values
    code = finding.code
    if code in ("link_empty", "link_script", "link_relative", "link_local"):
        return {
            "link_empty": _("A link has no address (an empty href or “#”): give it the page it should open."),
            "link_script": _("The link %(link)s runs a script, which mail programs block: link to a web page.",
                             link=v.get("link", "")),
            "link_relative": _("The link %(link)s is not a full web address (https://…): an inbox cannot open it.",
                               link=v.get("link", "")),
            "link_local": _("The link %(link)s points at this computer or network, which recipients cannot reach: "
                            "use the public address ([app] base_url for Herald's own links).", link=v.get("link", "")),
        }[code]
    if code == "email_no_unsubscribe":
        return _("No unsubscribe link: add {{ unsubscribe_url }} (in the footer) before sending it as marketing.")
    if code == "sms_no_opt_out":
        return _("No opt-out wording: a marketing SMS says how to stop, e.g. “回复TD退订” or “Reply STOP to opt out” "
                 "(any of: %(keywords)s).", keywords=v.get("keywords", ""))
    if code == "image_no_alt":
        return _("The image %(image)s has no alt text: say what it shows, for blocked images and screen readers.",
                 image=v.get("image") or "—")
    if code == "size_clipped":
        return _("The HTML is %(size)s KB: Gmail clips an email over %(limit)s KB and hides the rest, unsubscribe link "
                 "included.", size=v.get("kilobytes"), limit=v.get("limit_kilobytes"))
    if code == "size_near_clip":
        return _("The HTML is %(size)s KB, close to the %(limit)s KB at which Gmail clips an email.",
                 size=v.get("kilobytes"), limit=v.get("limit_kilobytes"))
    if code == "subject_empty":
        return _("No subject: mail without one is often filed as spam.")
    if code == "subject_long":
        return _("The subject is %(columns)s columns long (a Chinese character counts 2); inboxes show about "
                 "%(limit)s and phones fewer.", columns=v.get("columns"), limit=v.get("limit"))
    if code == "spam_caps":
        return _("The subject is in capitals, which spam filters score against: write it in sentence case.")
    if code == "spam_exclamations":
        return _("Three or more exclamation marks read as spam: keep one.")
    if code == "spam_phrases":
        return _("Spam filters score against: %(phrases)s. Say it another way.", phrases=v.get("phrases", ""))
    if code == "gsm7_forced_ucs2":
        return _gsm7(v)
    if code == "sms_empty":
        return _("The SMS is empty once rendered: nothing would be sent.")
    if code == "sms_segments":
        return _("%(characters)s characters in %(encoding)s: %(segments)s segment(s), %(cost)s %(currency)s per "
                 "recipient.", characters=v.get("characters"), encoding=v.get("encoding"),
                 segments=v.get("segments"), cost=v.get("cost"), currency=v.get("currency"))
    if code == "sms_links_shortened":
        return _("%(links)s link(s) will be sent as short tracked links of %(length)s characters.",
                 links=v.get("links"), length=v.get("length"))
    if code == "sms_links_long":
        return _("%(links)s link(s) are sent as written (the longest has %(length)s characters): turn on [tracking] "
                 "sms_short_links, or shorten them.", links=v.get("links"), length=v.get("length"))
    if code == "signature_placeholder":
        return _("The text still says 【签名】: write your company's signature in its place, or set signature= on "
                 "the SMS channel to fill it.")
    return finding.message


def _gsm7(v: Any) -> str:
    characters = "; ".join(
        _("“%(char)s” %(name)s at character %(position)s → “%(replacement)s”", char=c["character"], name=c["name"],
          position=c["position"], replacement=c["replacement"]) for c in v.get("characters", []))
    return _("These characters switch the SMS to UCS-2 (70 characters a segment instead of 160): %(characters)s. "
             "Replaced, it is %(after)s segment(s) instead of %(before)s.", characters=characters,
             after=v.get("segments_replaced"), before=v.get("segments"))


def findings_for_page(findings: Any) -> list[dict[str, Any]]:
    """The findings as the editor's script and the campaign page show them: the finding plus `text`. A finding
    that reads the same as one before (the unsubscribe link of the HTML and of the text part) is shown once."""
    shown: dict[str, dict[str, Any]] = {}
    for finding in findings or ():
        shown.setdefault(finding_text(finding), {**finding.to_dict(), "text": finding_text(finding)})
    return list(shown.values())




def level_label(level: str) -> str:
    return {"error": _("Error"), "warning": _("Warning"), "note": _("Note")}.get(level, level)
