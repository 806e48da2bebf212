"""The model drafter: a language model writes the email from a fact sheet, behind the output contract.

Any OpenAI-compatible chat endpoint (MODEL_BASE_URL, MODEL_NAME, MODEL_API_KEY)
through pydantic-ai: the model must return structured output (subject, body,
claims citing facts) through its output tool; a reply that does not fit the
schema, or a draft that breaks the contract (outreach.drafting.contract), is
sent back with the reasons, at most MODEL_MAX_RETRIES times, then it is a
DraftingError naming every reason. A timeout or an unreachable endpoint is
retried within the same bound, then is a DraftingError too. Never a card.

`draft_many` drafts many leads at once, at most `concurrency` requests in
flight on one event loop and one HTTP connection pool, which is what makes a
1-second model give `concurrency` cards a second (bench/drafting). Nothing
here touches the database: `prepare(step)` reads the prompt version first,
in the caller's thread, so drafting itself may run anywhere.

The key is read from the environment (settings) and passed to the client
only: it is never logged, stored or shown.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from pydantic import BaseModel, Field

from outreach.drafting.contract import Fact, contract_failures, fact_sheet, phrase_list
from outreach.drafting.drafters import DEFAULT_DRAFTER, Draft, Drafter, DraftingError, lead_fields
from outreach.models import CadenceStep, Lead, PromptVersion

# What every prompt says, before the step's own instructions.
BASE_INSTRUCTIONS = """You write one short, plain-text cold email for a B2B sales team.
Rules you must follow:
- State nothing that is not in the fact sheet: every number, name, company, title and date you write must appear in a fact you cite.
- Return claims: for each statement of fact, quote it word for word from your email and give the id of the fact it rests on.
- No placeholders or template syntax, no price or discount promise unless a cited fact states it, no flattery, no AI cliches.
- Greet the lead by first name, ask one clear question, and sign off with the sender's name on its own line after "Best,".
"""


class Claim(BaseModel):
    text: str = Field(description="A statement of fact, quoted word for word from the subject or body.")
    fact: str = Field(description="The id of the fact it rests on, e.g. C1 or lead.company.")


class DraftOutput(BaseModel):
    subject: str
    body: str
    claims: list[Claim]


@dataclass(frozen=True)
class Prompt:
    """The prompt version a step drafts with: its label, instructions, style rules and model."""

    label: str
    instructions: str
    style_rules: str
    model_name: str


def prompt_label(step: CadenceStep, number: int) -> str:
    """Return the prompt version recorded on a card, e.g. spring-2026:s1:p3 (like template versions)."""
    return f"{step.campaign.ref}:s{step.number}:p{number}"


def prompt_for(step: CadenceStep, version: PromptVersion | None = None) -> Prompt:
    """Return the prompt `step` drafts with: `version` when given (the shadow lane), else the version in use."""
    if version is None:
        version = PromptVersion.objects.filter(step=step, number=step.prompt_version).first()
    if version is None:
        return Prompt(prompt_label(step, step.prompt_version), step.prompt, "", "")
    return Prompt(prompt_label(step, version.number), version.instructions, version.style_rules, version.model_name)


def cost_of(tokens_in: int, tokens_out: int) -> Decimal:
    """Return the USD cost of the tokens at the configured prices."""
    cost = tokens_in * settings.MODEL_PRICE_INPUT_PER_MTOK / 1e6 + tokens_out * settings.MODEL_PRICE_OUTPUT_PER_MTOK / 1e6
    return Decimal(str(round(cost, 6)))


def facts_for(lead: Lead, step: CadenceStep) -> list[Fact]:
    return fact_sheet(lead_fields(lead) | {"full_name": lead.full_name}, step.campaign.from_name, step.campaign.facts)


def user_prompt(lead: Lead, step: CadenceStep, facts: Sequence[Fact]) -> str:
    """The request for one lead: the step and the fact sheet as JSON (the model sandbox reads it too)."""
    sheet = {"step": step.number, "lead_email": lead.email, "facts": [fact.as_dict() for fact in facts]}
    return f"Draft email step {step.number} for this lead.\nFACT SHEET (JSON):\n{json.dumps(sheet)}"


class ModelDrafter:
    """Draft through an OpenAI-compatible chat model, checked against the output contract."""

    name = "model"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model_name: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        version: PromptVersion | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.base_url = base_url or settings.MODEL_BASE_URL
        self.model_name = model_name or settings.MODEL_NAME
        self._api_key = api_key if api_key is not None else settings.MODEL_API_KEY
        self.timeout = timeout if timeout is not None else settings.MODEL_TIMEOUT
        self.max_retries = settings.MODEL_MAX_RETRIES if max_retries is None else max_retries
        self.concurrency = concurrency or settings.MODEL_CONCURRENCY
        self.version = version
        self._prompts: dict[int, Prompt] = {}

    def __repr__(self) -> str:  # never the key
        return f"ModelDrafter({self.base_url!r}, {self.model_name!r})"

    def prepare(self, step: CadenceStep) -> Prompt:
        """Read the step's prompt version (a query): call before drafting off the request thread."""
        if step.pk not in self._prompts:
            self._prompts[step.pk] = prompt_for(step, self.version)
        return self._prompts[step.pk]

    def draft(self, lead: Lead, step: CadenceStep) -> Draft:
        result = self.draft_many([lead], step)[0]
        if isinstance(result, DraftingError):
            raise result
        return result

    def draft_many(self, leads: Sequence[Lead], step: CadenceStep) -> list[Draft | DraftingError]:
        """Draft `step` for each lead, at most `concurrency` at once; a Draft or a DraftingError per lead, in order."""
        prompt = self.prepare(step)
        return _run_to_end(lambda: self._draft_all(list(leads), step, prompt))

    async def _draft_all(self, leads: list[Lead], step: CadenceStep, prompt: Prompt) -> list[Draft | DraftingError]:
        from openai import AsyncOpenAI

        # Our own bounded retries below; the SDK's would add backoff sleeps and hide the reasons.
        client = AsyncOpenAI(base_url=self.base_url, api_key=self._api_key or "none", timeout=self.timeout, max_retries=0)
        agent = self._agent(client, prompt)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(lead: Lead) -> Draft | DraftingError:
            async with gate:
                return await self._draft_one(agent, lead, step, prompt)

        try:
            return await asyncio.gather(*(one(lead) for lead in leads))
        finally:
            await client.close()

    def _agent(self, client, prompt: Prompt):
        from pydantic_ai import Agent
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        model = OpenAIChatModel(prompt.model_name or self.model_name, provider=OpenAIProvider(openai_client=client))
        instructions = BASE_INSTRUCTIONS + (f"\nThis step:\n{prompt.instructions}\n" if prompt.instructions else "")
        if prompt.style_rules.strip():
            instructions += "\nStyle rules the Head of Sales set:\n" + "\n".join(
                f"- {rule.strip()}" for rule in prompt.style_rules.splitlines() if rule.strip()
            )
        agent = Agent(model, output_type=DraftOutput, instructions=instructions, retries=self.max_retries, deps_type=dict)

        @agent.output_validator
        def _contract(ctx, output: DraftOutput) -> DraftOutput:
            from pydantic_ai import ModelRetry

            deps = ctx.deps
            failures = contract_failures(
                output.subject.strip(),
                output.body.strip(),
                [claim.model_dump() for claim in output.claims],
                facts=deps["facts"],
                campaign_phrases=deps["banned"],
                step_number=deps["step_number"],
                max_words=settings.MODEL_BODY_MAX_WORDS,
            )
            if failures:
                raise ModelRetry("The draft breaks the rules: " + "; ".join(failures) + ". Write it again.")
            return output

        return agent

    async def _draft_one(self, agent, lead: Lead, step: CadenceStep, prompt: Prompt) -> Draft | DraftingError:
        from pydantic_ai import capture_run_messages
        from pydantic_ai.exceptions import AgentRunError, UnexpectedModelBehavior

        facts = facts_for(lead, step)
        deps = {"facts": facts, "banned": phrase_list(step.campaign.banned_phrases), "step_number": step.number}
        started = time.perf_counter()
        reasons: list[str] = []
        spent = {"in": 0, "out": 0, "requests": 0}
        # Each run may itself retry a broken draft; a transport failure (timeout, refused
        # connection, 5xx) ends the run, so it is retried here, within the same bound.
        for _ in range(self.max_retries + 1):
            with capture_run_messages() as messages:
                try:
                    result = await agent.run(user_prompt(lead, step, facts), deps=deps)
                except UnexpectedModelBehavior as exc:
                    _account(messages, spent, reasons)
                    # The last attempt's reason is the exception's cause, not a message.
                    reasons.append(_retry_reason(_last_reason(exc)))
                    break  # the output retries are spent: the model kept breaking the contract
                except (AgentRunError, OSError, asyncio.TimeoutError) as exc:
                    _account(messages, spent, reasons)
                    spent["requests"] += 1
                    reasons.append(_outage(exc, self.timeout))
                    continue
                except Exception as exc:  # the SDK's transport errors (timeout, connection) are not AgentRunError
                    if exc.__class__.__module__.startswith(("openai", "httpx", "httpcore")):
                        _account(messages, spent, reasons)
                        spent["requests"] += 1
                        reasons.append(_outage(exc, self.timeout))
                        continue
                    raise
                _account(messages, spent, reasons)
            output: DraftOutput = result.output
            meta = self._meta(prompt, spent, started, attempts=spent["requests"], reasons=reasons)
            return Draft(
                subject=output.subject.strip(),
                body=output.body.replace("\r\n", "\n").strip(),
                claims=tuple(claim.model_dump() for claim in output.claims),
                meta=meta,
            )
        meta = self._meta(prompt, spent, started, attempts=max(spent["requests"], 1), reasons=reasons)
        return DraftingError(
            f"step {step.number}: the model's draft for {lead.email} was refused: " + "; ".join(dict.fromkeys(reasons)),
            meta=meta,
        )

    def _meta(self, prompt: Prompt, spent: dict, started: float, *, attempts: int, reasons: list[str]) -> dict:
        return {
            "reasons": list(reasons),
            "card": {
                "prompt_version": prompt.label,
                "model_name": prompt.model_name or self.model_name,
                "tokens_in": spent["in"],
                "tokens_out": spent["out"],
                "cost": cost_of(spent["in"], spent["out"]),
                "latency_ms": int((time.perf_counter() - started) * 1000),
                "draft_attempts": attempts,
            },
        }


def _run_to_end(make_coroutine):
    """Run the coroutine on a loop of its own: in this thread, or in a helper thread when this one already
    runs an event loop (an async caller), where asyncio.run is not allowed."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def _account(messages, spent: dict, reasons: list[str]) -> None:
    """Add the run's token usage and the reasons it sent back to the model (malformed output, contract)."""
    from pydantic_ai.messages import ModelRequest, ModelResponse, RetryPromptPart, ToolReturnPart

    for message in messages:
        if isinstance(message, ModelResponse):
            spent["in"] += message.usage.input_tokens or 0
            spent["out"] += message.usage.output_tokens or 0
            spent["requests"] += 1
        elif isinstance(message, ModelRequest):
            for part in message.parts:
                # A retry is a RetryPromptPart, or (output tools) a ToolReturnPart marked retried.
                if isinstance(part, RetryPromptPart) or (isinstance(part, ToolReturnPart) and getattr(part, "outcome", "") == "retried"):
                    reasons.append(_retry_reason(part.content))


def _last_reason(exc: BaseException):
    cause = exc.__cause__
    if cause is None:
        return str(exc)
    errors = getattr(cause, "errors", None)
    if callable(errors):  # a pydantic ValidationError: the reply did not fit the schema
        return errors()
    return getattr(cause, "message", None) or str(cause)


def _retry_reason(content) -> str:
    if isinstance(content, str):
        return _plain(content)
    # A list of validation errors: the reply did not fit the schema.
    details = ", ".join(f"{'.'.join(str(p) for p in error.get('loc', ()))} {error.get('msg', '')}".strip() for error in content[:3])
    return f"malformed output ({details})"


def _plain(text: str) -> str:
    text = text.removeprefix("The draft breaks the rules: ").removesuffix(". Write it again.")
    if text.startswith("Exceeded maximum"):
        return "gave up after the allowed retries"
    return text


def _outage(exc: BaseException, timeout: float) -> str:
    """The reason of a request that got no usable answer (it counts as an attempt)."""
    name = exc.__class__.__name__
    if "Timeout" in name or isinstance(exc, asyncio.TimeoutError):
        return f"model timeout (no answer within {timeout:g} s)"
    return f"model unavailable ({name})"


def drafter_for(step: CadenceStep, default: Drafter = DEFAULT_DRAFTER) -> Drafter:
    """Return the drafter `step` chose: the model drafter for a model step, else `default`."""
    if step.drafter == "model":
        # A caller's own model drafter (a run's concurrency, the shadow lane's version) is kept.
        return default if isinstance(default, ModelDrafter) else ModelDrafter()
    return default if getattr(default, "name", "") != "model" else DEFAULT_DRAFTER
