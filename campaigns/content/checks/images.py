"""Images without alt text: many mail programs block images until asked, and screen readers read the alt
text, so an image without it leaves a blank box or nothing at all where the message was."""

from __future__ import annotations

from html.parser import HTMLParser

from campaigns.content.checks.findings import Finding

# The open pixel and spacer images are decorative on purpose; alt="" is the right alt text for them.
TINY = ("0", "1")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.missing: list[str] = []  # the src of each image without alt text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = dict(attrs)
        if values.get("width") in TINY or values.get("height") in TINY:
            return
        if not (values.get("alt") or "").strip():
            self.missing.append(values.get("src") or "")


def check_images(html: str) -> list[Finding]:
    parser = _Images()
    parser.feed(html or "")
    parser.close()
    return [Finding("images", "warning", "image_no_alt",
                    f"The image {src or '(no src)'} has no alt text: say in a few words what it shows, for "
                    "readers whose mail program blocks images and for screen readers.", {"image": src or ""})
            for src in dict.fromkeys(parser.missing)]
