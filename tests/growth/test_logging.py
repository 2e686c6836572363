import json
import logging

from growth.logging import JsonLinesFormatter


def test_json_lines_formatter_writes_one_object_with_extras():
    record = logging.LogRecord("growth.test", logging.WARNING, __file__, 1, "sent %s", ("x",), None)
    record.contact_id = 42
    line = JsonLinesFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "sent x"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "growth.test"
    assert entry["contact_id"] == 42


def test_exceptions_are_kept_in_the_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("g", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonLinesFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]
