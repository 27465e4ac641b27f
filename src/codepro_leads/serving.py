"""The champion over HTTP (``make serve``): MLflow's own scoring server (what ``mlflow models
serve`` runs) behind request limits: a body over ``--max-mb`` or ``--max-records`` is answered
413 before it becomes a frame; JSON nested deeper than Python parses is a 400.

    python -m codepro_leads.serving [--port 5001] [--max-records 10000] [--max-mb 20]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestLimits:
    """ASGI middleware limiting ``/invocations`` bodies; the body is read once, then handed on
    to ``app`` as it came."""

    def __init__(self, app: Any, max_bytes: int, max_records: int) -> None:
        self.app, self.max_bytes, self.max_records = app, max_bytes, max_records

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/invocations":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _answer(send, 413, f"request body over {self.max_bytes:,} bytes")
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _answer(send, 413, f"request body over {self.max_bytes:,} bytes")
                return
        try:
            records = _records(json.loads(body))
        except RecursionError:
            await _answer(send, 400, "JSON nested too deep")
            return
        except ValueError:  # not JSON (or CSV): MLflow's server says why
            records = 0
        if records > self.max_records:
            await _answer(send, 413, f"{records:,} records, over {self.max_records:,} a request")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _records(payload: Any) -> int:
    if not isinstance(payload, dict):
        return 0
    for key in ("dataframe_records", "inputs", "instances"):
        if isinstance(payload.get(key), list):
            return len(payload[key])
    split = payload.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        return len(split["data"])
    return 0


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error_code": "BAD_REQUEST", "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app(model_uri: str, max_bytes: int, max_records: int) -> RequestLimits:
    """MLflow's scoring app for ``model_uri``, behind the limits."""
    from mlflow.pyfunc import load_model, scoring_server

    return RequestLimits(scoring_server.init(load_model(model_uri)), max_bytes, max_records)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m codepro_leads.serving", description=__doc__)
    parser.add_argument("--model-uri", default="models:/codepro-lead-scorer@champion")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--max-records", type=int, default=10_000)
    parser.add_argument("--max-mb", type=float, default=20)
    args = parser.parse_args(argv)
    limited = app(args.model_uri, int(args.max_mb * 1_000_000), args.max_records)
    uvicorn.run(limited, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
