"""The ASGI app: routes of llm-d-inference-sim v0.5.1 plus the embedded ``/_local/served``."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from maas_local.simulator import metrics
from maas_local.simulator.config import SimulatorConfig
from maas_local.simulator.errors import ApiError, PlainError
from maas_local.simulator.generation import Completion, generate
from maas_local.simulator.parsing import CompletionRequest, parse_chat, parse_text
from maas_local.simulator.responses import CHAT, TEXT, Endpoint, Stream, completion_body
from maas_local.simulator.stats import ServingStats
from maas_local.simulator.toolcalls import ToolCallCrash, ToolCallError

Parser = Callable[[bytes, SimulatorConfig], CompletionRequest]
# fasthttp's ctx.Error, which v0.5.1 answers undecodable bodies and failed generations with.
_PLAIN = "text/plain; charset=utf-8"


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
            parsed = parse(await request.body(), self.config)
            completion = self._generate(parsed)
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.code)
        except PlainError as error:
            return Response(error.text, status_code=error.code, headers={"content-type": _PLAIN})
        if "empty-content" in self.config.faults:
            # The regression: the text is lost on the way out, the tokens are still counted.
            completion = replace(completion, text="", tokens=("",) * len(completion.tokens))
        self.stats.succeeded += 1
        if parsed.stream:
            return StreamingResponse(
                self._stream(endpoint, parsed, completion), media_type="text/event-stream"
            )
        self.stats.running += 1
        try:
            await self._pause(self.config.time_to_first_token_ms)
            pauses = completion.completion_tokens - 1
            await self._pause(self.config.inter_token_latency_ms * pauses)
        finally:
            self.stats.running -= 1
        body = completion_body(
            endpoint, self.config.model, completion, parsed.prompt_tokens, self.config.faults
        )
        return JSONResponse(body)

    def _generate(self, parsed: CompletionRequest) -> Completion:
        """The answer; tool calls v0.5.1 cannot make are its plain-text 400 (its chat handler's
        prefix and the error run together, as v0.5.1 writes them; only chat has tools)."""
        try:
            return generate(parsed, self.config.mode, self.rng)
        except ToolCallError as error:
            raise PlainError(f"failed to create chat response{error}") from None
        except ToolCallCrash as error:
            # v0.5.1's worker panics and the server process dies; a crash is not simulated.
            message = f"llm-d-inference-sim v0.5.1 crashes on this request: {error}"
            raise PlainError(message, 500) from None

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
            # As in v0.5.1: an empty reply (echo mode only) streams no role, token or finish
            # chunk; a chat reply opens with the role.
            if endpoint.chat and (completion.tokens or completion.tool_calls):
                yield stream.role()
            if completion.tool_calls:
                async for event in self._tool_call_events(stream, completion):
                    yield event
            elif completion.tokens:
                async for event in self._text_events(stream, completion):
                    yield event
            if parsed.include_usage:
                yield stream.usage(parsed.prompt_tokens, completion.completion_tokens)
            if "stream-without-done" not in self.config.faults:
                yield stream.done()  # the regression drops the terminator
        finally:
            self.stats.running -= 1

    async def _text_events(self, stream: Stream, completion: Completion) -> AsyncIterator[str]:
        """A reply cut at its limit says "length" on its last token chunk; one that stopped on
        its own gets a finish chunk of its own."""
        await self._pause(self.config.time_to_first_token_ms)
        cut = completion.finish_reason == "length"
        last = len(completion.tokens) - 1
        for index, token in enumerate(completion.tokens):
            if index:
                await self._pause(self.config.inter_token_latency_ms)
            yield stream.token(token, completion.finish_reason if cut and index == last else None)
        if not cut:
            yield stream.finish(completion.finish_reason)

    async def _tool_call_events(self, stream: Stream, completion: Completion) -> AsyncIterator[str]:
        """Each call streamed as v0.5.1 streams it: after a time-to-first-token pause of its
        own, one chunk per argument token, the last of each call saying "tool_calls"."""
        for call in completion.tool_calls:
            await self._pause(self.config.time_to_first_token_ms)
            last = len(call.tokens) - 1
            for index in range(len(call.tokens)):
                if index:
                    await self._pause(self.config.inter_token_latency_ms)
                yield stream.tool_token(call, index, "tool_calls" if index == last else None)

    @staticmethod
    async def _pause(milliseconds: int) -> None:
        # Sleeping zero would still yield to the loop; skip it so the default adds no latency.
        if milliseconds > 0:
            await asyncio.sleep(milliseconds / 1000)
