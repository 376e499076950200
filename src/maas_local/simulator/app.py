"""The ASGI app: routes of llm-d-inference-sim v0.5.1 plus the embedded ``/_local/served``."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from maas_local.simulator import metrics
from maas_local.simulator.config import SimulatorConfig
from maas_local.simulator.errors import ApiError
from maas_local.simulator.generation import Completion, generate
from maas_local.simulator.parsing import CompletionRequest, decode_object, parse_chat, parse_text
from maas_local.simulator.responses import CHAT, TEXT, Endpoint, Stream, completion_body
from maas_local.simulator.stats import ServingStats

Parser = Callable[[dict[str, Any], SimulatorConfig], CompletionRequest]


def build_app(config: SimulatorConfig) -> Starlette:
    """One simulated model server; each app keeps its own counters and served-request record."""
    simulator = _Simulator(config)
    return Starlette(
        routes=[
            Route("/v1/chat/completions", simulator.chat, methods=["POST"]),
            Route("/v1/completions", simulator.text, methods=["POST"]),
            Route("/v1/models", simulator.models, methods=["GET"]),
            Route("/health", _empty, methods=["GET"]),
            Route("/ready", _empty, methods=["GET"]),
            Route("/metrics", simulator.exposition, methods=["GET"]),
            Route("/_local/served", simulator.served, methods=["GET"]),
        ]
    )


async def _empty(_: Request) -> Response:
    return JSONResponse({})


class _Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = ServingStats()
        self.rng = random.Random()
        self.started = int(time.time())

    async def chat(self, request: Request) -> Response:
        return await self._complete(request, CHAT, parse_chat)

    async def text(self, request: Request) -> Response:
        return await self._complete(request, TEXT, parse_text)

    async def models(self, _: Request) -> Response:
        model = self.config.model
        entry = {
            "id": model,
            "object": "model",
            "created": self.started,
            "owned_by": "vllm",
            "root": model,
            "parent": None,
        }
        return JSONResponse({"object": "list", "data": [entry]})

    async def exposition(self, _: Request) -> Response:
        body = metrics.render(self.config.model, self.stats)
        return Response(body, headers={"content-type": metrics.CONTENT_TYPE})

    async def served(self, _: Request) -> Response:
        return JSONResponse({"count": self.stats.seen, "ids": list(self.stats.ids)})

    async def _complete(self, request: Request, endpoint: Endpoint, parse: Parser) -> Response:
        self.stats.saw(request.headers.get(self.config.request_id_header))
        try:
            parsed = parse(decode_object(await request.body()), self.config)
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.code)
        completion = generate(parsed, self.config.mode, self.rng)
        if "empty-content" in self.config.faults:
            # The regression: the text is lost on the way out, the tokens are still counted.
            completion = Completion("", ("",) * len(completion.tokens), completion.finish_reason)
        self.stats.succeeded += 1
        if parsed.stream:
            return StreamingResponse(
                self._stream(endpoint, parsed, completion), media_type="text/event-stream"
            )
        self.stats.running += 1
        try:
            await self._pause(self.config.time_to_first_token_ms)
            await self._pause(self.config.inter_token_latency_ms * (len(completion.tokens) - 1))
        finally:
            self.stats.running -= 1
        body = completion_body(
            endpoint, self.config.model, completion, parsed.prompt_tokens, self.config.faults
        )
        return JSONResponse(body)

    async def _stream(
        self, endpoint: Endpoint, parsed: CompletionRequest, completion: Completion
    ) -> AsyncIterator[str]:
        stream = Stream.start(endpoint, self.config.model, self.config.faults)
        # Counted here, not in the handler: a generator that never starts never reaches finally.
        self.stats.running += 1
        try:
            if "stream-only-done" in self.config.faults:
                yield stream.done()  # the regression: every event but the terminator is lost
                return
            await self._pause(self.config.time_to_first_token_ms)
            # As in v0.5.1: an empty reply (echo mode only) streams no role, token or finish
            # chunk; a reply cut at its limit says "length" on its last token chunk, one that
            # stopped on its own gets a finish chunk of its own.
            if endpoint.chat and completion.tokens:
                yield stream.role()
            cut = completion.finish_reason == "length"
            last = len(completion.tokens) - 1
            for index, token in enumerate(completion.tokens):
                if index:
                    await self._pause(self.config.inter_token_latency_ms)
                reason = completion.finish_reason if cut and index == last else None
                yield stream.token(token, reason)
            if completion.tokens and not cut:
                yield stream.finish(completion.finish_reason)
            if parsed.include_usage:
                yield stream.usage(parsed.prompt_tokens, len(completion.tokens))
            if "stream-without-done" not in self.config.faults:
                yield stream.done()  # the regression drops the terminator
        finally:
            self.stats.running -= 1

    @staticmethod
    async def _pause(milliseconds: int) -> None:
        # Sleeping zero would still yield to the loop; skip it so the default adds no latency.
        if milliseconds > 0:
            await asyncio.sleep(milliseconds / 1000)
