"""Names a marketer types are data on the segment editor: a list named like markup cannot add elements."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from audiences import create_list

HOSTILE = ["</script><input hidden name=role value=admin>",
           "</SCRIPT ><button formaction=/users form=segment-form>x</button><!--",
           "<!--<script>",
           "& ' \" \u2028 \u2029 </ script>"]


class Page(HTMLParser):
    """What a browser's parser would build: every start tag and the catalogue script's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.catalogue = ""
        self._in_catalogue = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_catalogue = tag == "script" and dict(attrs).get("id") == "segment-catalogue"

    def handle_endtag(self, tag):
        self._in_catalogue = False

    def handle_data(self, data):
        if self._in_catalogue:
            self.catalogue += data


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_list_named_like_markup_stays_data_on_the_new_segment_page(logged_in_client, database, clock, backend,
                                                                     hostile):
    with database.session() as session:
        stored = [create_list(session, hostile, now=clock.now()).name]  # as audiences normalised it

    response = logged_in_client.get("/segments/new")
    assert response.status_code == 200
    page = Page()
    page.feed(response.get_data(as_text=True))

    assert not [attrs for tag, attrs in page.tags if tag == "input" and attrs.get("name") == "role"]
    assert not [attrs for tag, attrs in page.tags if attrs.get("formaction")]
    catalogue = json.loads(page.catalogue)
    lists = next(field for _group, fields in catalogue["groups"] for field in fields if field["key"] == "list")
    assert [name for _id, name in lists["choices"]] == stored
