"""compliance.spreadsheet.CheckedCSV: what a file reader can say about a bad file, and where."""

from __future__ import annotations

import pytest

from compliance.spreadsheet import ROW_PROBLEM_COLUMN, CheckedCSV, ImportFileError, Windows1252CSV, control_character_problem


def rows(data: bytes, format_class=CheckedCSV) -> list[dict]:
    return list(format_class().create_dataset(data).dict)


def test_it_reads_a_utf8_file_with_a_bom_quoted_commas_and_line_breaks():
    data = '\ufeffemail,company\n"a@x.example","Acme, Inc"\n\nb@x.example,"Two\nlines"\n'.encode()

    assert rows(data) == [
        {"email": "a@x.example", "company": "Acme, Inc", ROW_PROBLEM_COLUMN: ""},
        {"email": "b@x.example", "company": "Two\nlines", ROW_PROBLEM_COLUMN: ""},
    ]


def test_a_ragged_row_keeps_its_place_with_its_problem():
    read = rows(b"email,company\na@x.example\nb@x.example,B,extra\nc@x.example,C\n")

    assert [row["email"] for row in read] == ["a@x.example", "b@x.example", "c@x.example"]
    assert "has 1 cells but the header has 2: a cell or a comma is missing" in read[0][ROW_PROBLEM_COLUMN]
    assert "has 3 cells but the header has 2: a value with a comma needs quotes" in read[1][ROW_PROBLEM_COLUMN]
    assert read[2][ROW_PROBLEM_COLUMN] == ""


def test_a_decoding_error_names_the_row_even_after_a_quoted_line_break():
    data = 'email,company\na@x.example,"Two\nlines"\nb@x.example,Caf\xe9\n'.encode("latin-1")

    with pytest.raises(ImportFileError, match=r"row 2 \(line 4\), byte 16 of that line is 0xE9.*Windows-1252"):
        rows(data)
    assert rows(data, Windows1252CSV)[1]["company"] == "Café"


@pytest.mark.parametrize("data, words", [(b"", "The file is empty"), (b"email|tier\na|b\n", "separated by vertical bars")])
def test_a_file_it_cannot_use_is_one_sentence(data, words):
    with pytest.raises(ImportFileError, match=words):
        rows(data)


@pytest.mark.parametrize("value", ["CMO\nBcc: x", "CMO\r", "A\tB", "A\x0bB", "A\u2028B", "A\x85B"])
def test_contact_fields_refuse_line_breaks_and_control_characters(value):
    assert "contains the control character U+" in control_character_problem(value)


def test_plain_and_accented_contact_fields_pass():
    assert control_character_problem("Zoë O'Brien-Šimić, VP") == ""


def test_a_utf8_file_read_as_windows_1252_is_refused_rather_than_garbled():
    with pytest.raises(ImportFileError, match="The file is UTF-8 text, not Windows-1252: choose the format “csv”"):
        rows("email,company\na@x.example,Café\n".encode(), Windows1252CSV)
    assert rows(b"email\na@x.example\n", Windows1252CSV)[0]["email"] == "a@x.example"
