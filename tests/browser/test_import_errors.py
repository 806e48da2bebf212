"""Bad CSV files on the admin import pages, in a real browser: each gets a per-row error
or one sentence a person can act on, never a traceback or a server path, and nothing
already stored changes."""

from __future__ import annotations

import pytest
from django.conf import settings

from compliance.models import DoNotContact
from outreach.models import Lead
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_lead, make_user

pytestmark = [pytest.mark.django_db(transaction=True)]

HEAD = "email,first_name,last_name,company,title,tier,source\n"
GOOD = "ok@x.example,Ann,Lee,Acme,CMO,tier_1,s\n"
LATIN_1 = (HEAD + GOOD + "zoe@x.example,Zoë,Lee,Café,CMO,tier_1,s\n").encode("latin-1")

# name -> (file, where the error shows, what it must say, the good rows still previewed)
BAD_FILES = {
    "invalid UTF-8": (
        HEAD.encode() + GOOD.encode() + b"bad@x.example,A\x81\x00,Lee,Acme,CMO,tier_1,s\n",
        ".errorlist",
        "The file is not UTF-8 text: row 2 (line 3), byte 16 of that line is 0x81, which cannot be decoded. "
        "Save it again as “CSV UTF-8” and import it again.",
        [],
    ),
    "Latin-1": (
        LATIN_1,
        ".errorlist",
        "The file is not UTF-8 text: row 2 (line 3), byte 17 of that line is 0xEB, which cannot be decoded. It looks like a "
        "Windows-1252 (Latin-1) file: choose the format “csv (Windows-1252 / Latin-1)” and import it again.",
        [],
    ),
    "ragged row": (
        (HEAD + GOOD + "rag@x.example,Ann,Lee,Acme, Inc,CMO,tier_1,s\n").encode(),
        "#import-errors",
        "2 This row has 8 cells but the header has 7: a value with a comma needs quotes around it.",
        ["ok@x.example"],
    ),
    "over-long field": (
        (HEAD + GOOD + 'long@x.example,"Ann' + "x" * 200_000 + '",Lee,Acme,CMO,tier_1,s\nok2@x.example,Bo,Lee,Acme,CMO,tier_1,s\n').encode(),
        "#import-errors",
        "2 The “first_name” cell has 200,003 characters, more than 10,000: a closing quote is probably missing.",
        ["ok@x.example", "ok2@x.example"],
    ),
    "semicolons": (
        b"email;first_name;tier\nok@x.example;Ann;tier_1\n",
        ".errorlist",
        "The columns are separated by semicolons (“email;first_name;tier”), expected commas: "
        "save the file as “CSV UTF-8 (comma delimited)” and import it again.",
        [],
    ),
    "no email column": (
        b"mail,first_name,tier\nok@x.example,Ann,tier_1\n",
        "#import-file-errors",
        "The file has no “email” column: expected the columns email, first_name, last_name, company, title, tier, source, domain; "
        "found mail, first_name, tier.",
        [],
    ),
    "line break in a title": (
        (HEAD + GOOD + 'cr@x.example,Ann,Lee,Acme,"CMO\r\nBcc: all@x.example",tier_1,s\n').encode(),
        "#import-errors",
        "2 title: “CMO\r\nBcc: all@x.example” contains the control character U+000D at position 4",
        ["ok@x.example"],
    ),
}


def upload(page, live_server, path: str, data: bytes, format_label: str = "csv") -> None:
    page.goto(f"{live_server.url}{path}")
    page.set_input_files("#id_import_file", files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": data}])
    page.select_option("#id_format", label=format_label)
    page.click("#content input[type=submit]")
    page.wait_for_load_state()


def assert_no_traceback(page) -> None:
    html = page.content()
    # The project's own folder stands for any server path.
    server_path = str(settings.BASE_DIR)
    for leak in ("Traceback", "site-packages", ".py\"", ".py,", "File \"", server_path, "Error at", "encountered while trying"):
        assert leak not in html, leak


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_lead_file_is_explained_and_changes_nothing(name, page, live_server, login, screenshots):
    data, where, sentence, previewed = BAD_FILES[name]
    stored = make_lead(email="stored@x.example", first_name="Original", title="VP")
    login(make_user("celia", role=HEAD_OF_SALES))

    upload(page, live_server, "/admin/outreach/lead/import/", data)

    page.screenshot(path=str(screenshots / f"import-{name.replace(' ', '-')}.png"), full_page=True)
    shown = " ".join(page.locator(where).inner_text().split())
    assert " ".join(sentence.split()) in shown
    assert_no_traceback(page)
    preview = page.locator("#import-preview tbody tr, #import-preview tr.new")
    assert [row.split("\t")[1] for row in preview.all_inner_texts()] == previewed
    assert list(Lead.objects.values_list("email", "first_name", "title")) == [(stored.email, "Original", "VP")]


def test_a_latin_1_file_imports_once_read_as_windows_1252(page, live_server, login):
    login(make_user("celia", role=HEAD_OF_SALES))
    upload(page, live_server, "/admin/outreach/lead/import/", LATIN_1)
    assert "choose the format “csv (Windows-1252 / Latin-1)”" in page.locator(".errorlist").inner_text()

    upload(page, live_server, "/admin/outreach/lead/import/", LATIN_1, format_label="csv (Windows-1252 / Latin-1)")
    assert "Zoë" in page.locator("table.import-preview").inner_text()
    page.click("input[type=submit][value='Confirm import']")
    page.wait_for_selector(".messagelist")

    assert "Import finished: 2 new leads written." in page.locator(".messagelist").inner_text()
    assert Lead.objects.get(email="zoe@x.example").company == "Café"


def test_the_rule_imports_explain_bad_files_the_same_way(page, live_server, login):
    DoNotContact.objects.create(email="kept@x.example", reason="asked")
    login(make_user("olga", role=OPERATOR))

    upload(page, live_server, "/admin/compliance/donotcontact/import/", b"email;reason\nana@x.example;asked\n")
    assert "The columns are separated by semicolons" in page.locator(".errorlist").inner_text()
    upload(page, live_server, "/admin/compliance/excludeddomain/import/", b"website,reason\nx.example,customer\n")
    assert "The file has no “domain” column: expected the columns domain, reason; found website, reason." in page.locator(
        "#import-file-errors"
    ).inner_text()

    assert_no_traceback(page)
    assert list(DoNotContact.objects.values_list("email", "reason")) == [("kept@x.example", "asked")]
