"""Result records in the OpenAI Batch API output format, and the atomic output file.

One JSON line per request (https://platform.openai.com/docs/api-reference/batch/request-output)::

    {"id": "batch_req_...", "custom_id": "r1", "response": {"status_code": 200, "request_id": "...", "body": {...}}, "error": null}

An HTTP error keeps the upstream's status and error body in ``response`` (as OpenAI does); a
request that got no answer (connection errors past its deadline, a bad request line) has
``response: null`` and ``error: {code, message}``. The ``id`` is derived from the custom_id, so a
resumed job writes the same line for the same request.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

from ._input import Item

__all__ = ["ok_record", "http_error_record", "error_record", "item_error_record", "write_jsonl", "is_success"]


def _id(custom_id: Optional[str], index: int) -> str:
    key = custom_id if custom_id is not None else f"\0invalid-{index}"
    return "batch_req_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def ok_record(item: Item, body: Any, request_id: Optional[str]) -> dict[str, Any]:
    response = {"status_code": 200, "request_id": request_id, "body": body}
    return {"id": _id(item.custom_id, item.index), "custom_id": item.custom_id, "response": response, "error": None}


def http_error_record(item: Item, status: int, body: Any, request_id: Optional[str]) -> dict[str, Any]:
    error_body = body if isinstance(body, dict) and "error" in body else {"error": body}
    response = {"status_code": status, "request_id": request_id, "body": error_body}
    return {"id": _id(item.custom_id, item.index), "custom_id": item.custom_id, "response": response, "error": None}


def error_record(item: Item, code: str, message: str) -> dict[str, Any]:
    error = {"code": code, "message": message}
    return {"id": _id(item.custom_id, item.index), "custom_id": item.custom_id, "response": None, "error": error}


def item_error_record(item: Item) -> dict[str, Any]:
    """The record of an input entry that cannot be sent (``item.problem`` is set)."""
    code = "invalid_line" if item.custom_id is None else "invalid_request"
    record = error_record(item, code, item.problem or "invalid")
    if item.line is not None:
        record["error"]["line"] = item.line
    return record


def is_success(record: dict[str, Any]) -> bool:
    response = record.get("response")
    return isinstance(response, dict) and response.get("status_code") == 200


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777  # keep the mode of the file being replaced
    except OSError:
        return 0o644  # (reading the umask means setting it: os.umask is process-wide, not thread-safe)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Writes ``records`` to ``path`` atomically: a temp file in the same directory, fsync, rename.

    A crash at any point leaves either the previous file or the complete new one, never a partial
    or duplicated line (rename(2) is atomic within a file system, POSIX.1-2017)."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes it 0600; the output is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
                f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
