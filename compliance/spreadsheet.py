"""Spreadsheet files in and out: CSV reading a person can act on, and exports
no spreadsheet program runs as formulas.

Every resource of the project derives from `SafeResource`, so every export
(leads, rules, cards, events) neutralises formula cells in one place, and
every import reads files with `CheckedCSV`: a bad file gets one sentence
naming what was expected and what was found, a bad row an error on its own
row while the good rows still preview, never a traceback.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import ValidationError
from import_export import resources
from import_export.formats import base_formats

from compliance.checks import is_line_break_or_control

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# No field of ours holds more; a longer cell is nearly always an unclosed quote that swallowed the rows after it.
MAX_CELL_CHARS = 10_000
# The reader's own limit is raised far above MAX_CELL_CHARS so that an over-long cell is our per-row error, not csv.Error.
_READER_FIELD_LIMIT = 2**31 - 1
# Carries a row's reading problem from the file reader to the resource, which reports it on the row.
ROW_PROBLEM_COLUMN = "__row_problem__"
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# A summary lists at most this many rows in error (every problem is still counted), so a page stays small
# however bad the file; the good rows are only sampled.
ERROR_ROWS_LISTED = 500
GOOD_ROWS_SAMPLED = 5
# What varies between two rows with the same problem: a quoted value, an address, a number.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|'[^']*'|[^\s“”\"']+@[^\s“”\"']*[^\s“”\"'.;:,]")
_NUMBER = re.compile(r"(?<!\w)\d+(?:[.,]\d+)*")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise_formula(value):
    """Return the value as a spreadsheet shows it as text: a leading apostrophe disarms a formula."""
    return f"'{value}" if looks_like_formula(value) else value


def control_character_problem(value) -> str:
    """Return why `value` may not go into a contact field (a line break or control character), or ''."""
    if not isinstance(value, str):
        return ""
    for position, char in enumerate(value, start=1):
        if is_line_break_or_control(char):
            return f"“{value[:40]}” contains the control character U+{ord(char):04X} at position {position} (a line break or tab); remove it."
    return ""


class ImportFileError(ValueError):
    """The whole file cannot be read; the message is one sentence for the person importing it."""


class CheckedCSV(base_formats.CSV):
    """A comma-separated file in UTF-8, read row by row so each problem is named where it is."""

    ENCODING = "utf-8-sig"
    LABEL = "csv"

    def get_title(self):
        return self.LABEL

    def is_binary(self):
        # Read the raw bytes: decoding here lets an error name its row and byte.
        return True

    def get_read_mode(self):
        return "rb"

    def can_export(self):
        return False

    def create_dataset(self, in_stream, **kwargs):
        text = self.decode(in_stream) if isinstance(in_stream, bytes) else in_stream
        return read_csv(text)

    def decode(self, data: bytes) -> str:
        try:
            return data.decode(self.ENCODING)
        except UnicodeDecodeError as exc:
            raise ImportFileError(decoding_error(data, exc, self.ENCODING)) from None


class Windows1252CSV(CheckedCSV):
    """The same, for files saved by older Excel versions in Windows-1252 (a superset of Latin-1)."""

    ENCODING = "cp1252"
    LABEL = "csv (Windows-1252 / Latin-1)"

    def decode(self, data: bytes) -> str:
        # Read as Windows-1252, a UTF-8 file's accents would be stored as mojibake ("CafÃ©") without a word.
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise ImportFileError(f"The file is UTF-8 text, not Windows-1252: choose the format “{CheckedCSV.LABEL}” and import it again.")
        return super().decode(data)


def decoding_error(data: bytes, exc: UnicodeDecodeError, encoding: str) -> str:
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    byte = exc.start - line_start + 1
    try:
        rows_before = sum(1 for record in csv.reader(io.StringIO(data[:line_start].decode(encoding))) if record)
    except (UnicodeDecodeError, csv.Error):
        rows_before = line - 1
    where = "the header row" if rows_before == 0 else f"row {rows_before}"
    sentence = (
        f"The file is not {'UTF-8' if encoding.startswith('utf') else encoding} text: {where} (line {line}), byte {byte} "
        f"of that line is 0x{data[exc.start]:02X}, which cannot be decoded."
    )
    if encoding.startswith("utf") and _is_clearly_windows_1252(data):
        sentence += f" It looks like a Windows-1252 (Latin-1) file: choose the format “{Windows1252CSV.LABEL}” and import it again."
    else:
        sentence += " Save it again as “CSV UTF-8” and import it again."
    return sentence


def _is_clearly_windows_1252(data: bytes) -> bool:
    """True when every byte decodes in Windows-1252 and the file is text, not binary."""
    if b"\x00" in data:
        return False
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def read_csv(text: str) -> tablib.Dataset:
    """Return the rows of a comma-separated `text` as a Dataset with a ROW_PROBLEM_COLUMN.

    A row with the wrong number of cells, or a cell longer than MAX_CELL_CHARS,
    is kept (fitted to the header's width) with its problem, so the resource
    refuses that row alone. A file that is not comma-separated is refused whole.
    """
    if csv.field_size_limit() < _READER_FIELD_LIMIT:
        csv.field_size_limit(_READER_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = [record for record in reader if record]
    except csv.Error as exc:
        raise ImportFileError(f"Line {reader.line_num} of the file cannot be read as CSV ({exc}).") from None
    if not records:
        raise ImportFileError("The file is empty: expected a header row naming the columns, then one row per record.")
    headers = [cell.strip() for cell in records[0]]
    if len(headers) == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in headers[0]:
                raise ImportFileError(
                    f"The columns are separated by {name} (“{headers[0][:60]}”), expected commas: "
                    "save the file as “CSV UTF-8 (comma delimited)” and import it again."
                )
    dataset = tablib.Dataset(headers=[*headers, ROW_PROBLEM_COLUMN])
    for record in records[1:]:
        problems = []
        if len(record) != len(headers):
            hint = "a value with a comma needs quotes around it" if len(record) > len(headers) else "a cell or a comma is missing"
            problems.append(f"This row has {len(record)} cells but the header has {len(headers)}: {hint}.")
            record = (record + [""] * len(headers))[: len(headers)]
        for column, cell in zip(headers, record):
            if len(cell) > MAX_CELL_CHARS:
                problems.append(
                    f"The “{column}” cell has {len(cell):,} characters, more than {MAX_CELL_CHARS:,}: a closing quote is probably missing."
                )
        record = [cell if len(cell) <= MAX_CELL_CHARS else "" for cell in record]
        dataset.append([*record, " ".join(problems)])
    return dataset


def problem_kind(message: str) -> str:
    """Return `message` with its quoted values and numbers blanked, so rows with the same problem count together."""
    return _NUMBER.sub("N", _QUOTED.sub("“…”", message))


@dataclass
class ImportSummary:
    """What an import read and did: counts, counts by problem, the rows in error (a capped list), a sample of good rows.

    The same summary is shown before confirming (from the dry run) and after a
    background import (kept as JSON on its record), so both speak alike.
    """

    rows_read: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    in_error: int = 0
    # "column: problem" (values blanked) -> rows with it.
    problems: dict[str, int] = field(default_factory=dict)
    # Each {"row": n, "problems": [[column or "", message], ...]}, in row order, at most ERROR_ROWS_LISTED.
    error_rows: list[dict] = field(default_factory=list)
    sample_headers: list[str] = field(default_factory=list)
    # Each {"type": "new" | "update", "values": [cell, ...]} under sample_headers.
    sample_rows: list[dict] = field(default_factory=list)

    @property
    def error_rows_not_listed(self) -> int:
        return self.in_error - len(self.error_rows)

    @property
    def problem_counts(self) -> list[tuple[str, int]]:
        return sorted(self.problems.items(), key=lambda item: (-item[1], item[0]))

    def add_row(self, number: int, row_result) -> None:
        """Count one row's result (a django-import-export RowResult) under its own row number."""
        self.rows_read += 1
        kind = row_result.import_type
        if kind == row_result.IMPORT_TYPE_NEW:
            self.new += 1
        elif kind == row_result.IMPORT_TYPE_UPDATE:
            self.updated += 1
        elif kind == row_result.IMPORT_TYPE_SKIP:
            self.skipped += 1
        elif kind in (row_result.IMPORT_TYPE_INVALID, row_result.IMPORT_TYPE_ERROR):
            self.add_errors(number, row_problem_list(row_result))
            return
        self._sample(row_result)

    def _sample(self, row_result) -> None:
        sample = getattr(row_result, "sample", None)
        if sample and len(self.sample_rows) < GOOD_ROWS_SAMPLED:
            self.sample_headers = list(sample)
            self.sample_rows.append({"type": row_result.import_type, "values": list(sample.values())})

    def add_errors(self, number: int, problems: list[tuple[str, str]]) -> None:
        self.in_error += 1
        for key in {f"{column}: {problem_kind(message)}" if column else problem_kind(message) for column, message in problems}:
            self.problems[key] = self.problems.get(key, 0) + 1
        if len(self.error_rows) < ERROR_ROWS_LISTED:
            self.error_rows.append({"row": number, "problems": [[column, message] for column, message in problems]})

    def add(self, other: ImportSummary) -> None:
        """Add a later part of the same file (a background import's chunk)."""
        self.rows_read += other.rows_read
        self.new += other.new
        self.updated += other.updated
        self.skipped += other.skipped
        self.error_rows += other.error_rows[: max(ERROR_ROWS_LISTED - len(self.error_rows), 0)]
        self.in_error += other.in_error
        for key, count in other.problems.items():
            self.problems[key] = self.problems.get(key, 0) + count
        for sample in other.sample_rows:
            if len(self.sample_rows) < GOOD_ROWS_SAMPLED:
                self.sample_headers = other.sample_headers
                self.sample_rows.append(sample)

    def as_dict(self) -> dict:
        return {
            "rows_read": self.rows_read, "new": self.new, "updated": self.updated, "skipped": self.skipped,
            "in_error": self.in_error, "problems": self.problems, "error_rows": self.error_rows,
            "sample_headers": self.sample_headers, "sample_rows": self.sample_rows,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> ImportSummary:
        return cls(**(data or {}))

    @classmethod
    def from_result(cls, result) -> ImportSummary:
        """Summarise a django-import-export Result (the dry run the preview shows)."""
        summary = cls()
        errors_by_row = {number: errors for number, errors in result.row_errors()}
        invalid_by_row = {row.number: row for row in result.invalid_rows}
        for number in sorted({*errors_by_row, *invalid_by_row}):
            if number in invalid_by_row:
                summary.add_errors(number, invalid_row_problems(invalid_by_row[number]))
            else:
                summary.add_errors(number, [("", str(error.error)) for error in errors_by_row[number]])
        totals = result.totals
        summary.rows_read = result.total_rows
        summary.new, summary.updated, summary.skipped = totals["new"], totals["update"], totals["skip"]
        for row_result in result.valid_rows()[:GOOD_ROWS_SAMPLED]:
            summary._sample(row_result)
        return summary


def invalid_row_problems(invalid_row) -> list[tuple[str, str]]:
    problems = [(column, str(message)) for column, messages in invalid_row.field_specific_errors.items() for message in messages]
    problems += [("", str(message)) for message in invalid_row.non_field_specific_errors]
    return problems


def row_problem_list(row_result) -> list[tuple[str, str]]:
    """The (column, message) problems of one RowResult that was refused or failed."""
    problems: list[tuple[str, str]] = []
    if row_result.validation_error is not None:
        error = row_result.validation_error
        if hasattr(error, "error_dict"):
            for column, messages in error.message_dict.items():
                problems += [("" if column == "__all__" else column, message) for message in messages]
        else:
            problems += [("", message) for message in error.messages]
    problems += [("", str(error.error)) for error in row_result.errors]
    return problems


class SafeResource(resources.ModelResource):
    """The base of every resource: exports neutralise formula cells; imports check the file's shape.

    Subclasses list their row problems in `row_problems`; they are raised
    together with the field errors, so each bad row shows all its reasons.
    """

    # Columns a file must have to be imported at all.
    required_columns: tuple[str, ...] = ()

    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        found = [header for header in (dataset.headers or []) if header != ROW_PROBLEM_COLUMN]
        self._good_rows_kept = 0
        missing = [column for column in self.required_columns if column not in found]
        if missing:
            expected = ", ".join(field.column_name for field in self.get_user_visible_fields())
            raise ImportFileError(
                f"The file has no “{'”, “'.join(missing)}” column: expected the columns {expected}; found {', '.join(found) or 'none'}."
            )

    def import_row(self, row, instance_loader, **kwargs):
        row_result = super().import_row(row, instance_loader, **kwargs)
        # The summary samples a few good rows as they will be stored; keeping every row would cost memory for nothing.
        kept = getattr(self, "_good_rows_kept", 0)
        if kept < GOOD_ROWS_SAMPLED and row_result.import_type in (row_result.IMPORT_TYPE_NEW, row_result.IMPORT_TYPE_UPDATE):
            row_result.sample = {
                field.column_name: "" if row.get(field.column_name) is None else str(row.get(field.column_name))
                for field in self.get_export_fields()
            }
            self._good_rows_kept = kept + 1
        return row_result

    def get_user_visible_fields(self):
        # A read-only field is exported, never imported: not a column to ask for.
        return [field for field in super().get_user_visible_fields() if not field.readonly]

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if row.get(ROW_PROBLEM_COLUMN):
            # The cells of a row read wrongly may sit under the wrong columns: their own errors would only mislead.
            instance._unreadable_row = True
            raise ValidationError({"__all__": [row[ROW_PROBLEM_COLUMN]]})
        for column, problem in self.row_problems(instance, row, kwargs.get("row_number")):
            errors.setdefault(column, []).append(problem)
        if errors:
            raise ValidationError(errors)

    def row_problems(self, instance, row, row_number: int | None) -> list[tuple[str, str]]:
        return []

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if getattr(instance, "_unreadable_row", False):
            raise ValidationError(import_validation_errors)
        # A rule checked both on the row and by the model's clean() says the same thing twice; say it once.
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as exc:
            raise ValidationError({key: list(dict.fromkeys(messages)) for key, messages in exc.message_dict.items()}) from None


class SafeExportMixin:
    """For an admin with ExportMixin: CSV out (its resource, a SafeResource, neutralises the cells)."""

    export_formats = [base_formats.CSV]


class SafeImportMixin(SafeExportMixin):
    """For ImportExportModelAdmin: CheckedCSV files in, plain CSV out, and a file error shown as its one sentence."""

    import_formats = [CheckedCSV, Windows1252CSV]
    import_template_name = "admin/import_export/checked_import.html"

    def import_action(self, request, **kwargs):
        """The preview: a summary and the rows in error, never every row (a 10,000-row page helps no one)."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        result = (context or {}).get("result")
        if result is not None and not result.has_errors():
            context["import_summary"] = ImportSummary.from_result(result)
            context["import_in_background"] = self.imports_in_background(result.total_rows)
        return response

    def imports_in_background(self, rows: int) -> bool:
        """Whether confirming `rows` rows runs as a background job (an admin that has one says when)."""
        return False

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            form.add_error("import_file", "The file cannot be read as CSV: check it is a comma-separated text file and import it again.")
