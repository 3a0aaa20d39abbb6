"""Anthropic `messages[]` as turns: consecutive messages of one role are one turn (as the API
says), string content is one text block, and tool use and results are paired as the API checks
them (unique ids, each tool_use answered in the next turn, each tool_result answering one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from localaik.errors import BadRequest
from localaik.families.anthropic import wire as anthropic
from localaik.wire.types import JSONObject, JSONValue

# A content block as the client sent it, checked to be an object with a string `type` (in
# `blocks`); each translation checks the fields it reads.
Block = JSONObject


@dataclass
class Turn:
    """One turn: consecutive messages of one role, their blocks joined, with their paths."""

    role: anthropic.Role
    blocks: list[tuple[Block, str]]


def turns(messages: JSONValue) -> list[Turn]:
    """`messages` checked and merged into turns (string content becomes one text block)."""
    if messages is None:
        raise BadRequest("messages: Field required", param="messages")
    if not isinstance(messages, list):
        raise BadRequest("messages: must be a list of messages", param="messages")
    if not messages:
        raise BadRequest("messages: at least one message is required", param="messages")
    out: list[Turn] = []
    last = len(messages) - 1
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise BadRequest(f"{where}: must be an object with a role and content")
        role = message.get("role")
        if role not in anthropic.ROLES:
            hint = (
                " (the system prompt is the top-level `system` field)" if role == "system" else ""
            )
            raise BadRequest(
                f'{where}.role: must be "user" or "assistant" (got {role!r}){hint}',
                param=f"{where}.role",
            )
        found = blocks(message.get("content"), where)
        if not found and not (i == last and role == "assistant"):
            raise BadRequest(
                f"{where}: all messages must have non-empty content except for the "
                "optional final assistant message",
                param=f"{where}.content",
            )
        if out and out[-1].role == role:
            out[-1].blocks.extend(found)
        else:
            out.append(Turn(cast(anthropic.Role, role), found))  # one of ROLES, checked above
    _check_tool_pairs(out)
    return out


def blocks(content: JSONValue, where: str) -> list[tuple[Block, str]]:
    # A missing content is an empty one: the key drops empty lists, and a request rebuilt from
    # a key (cassette verify) must read the same.
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [({"type": "text", "text": content}, f"{where}.content")]
    if not isinstance(content, list):
        raise BadRequest(
            f"{where}.content: must be a string or a list of content blocks",
            param=f"{where}.content",
        )
    out: list[tuple[Block, str]] = []
    for j, block in enumerate(content):
        at = f"{where}.content.{j}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise BadRequest(f"{at}: must be a content block object with a type", param=at)
        out.append((block, at))
    return out


def _check_tool_pairs(found: list[Turn]) -> None:
    """Unique tool_use ids; each answered in the next turn; each result answering one."""
    seen: set[str] = set()
    for t, turn in enumerate(found):
        if turn.role == "assistant":
            ids: list[str] = []
            for block, at in turn.blocks:
                if block["type"] == "tool_use":
                    block_id = required_str(block, "id", at)
                    if block_id in seen:
                        raise BadRequest(
                            f"{at}.id: `tool_use` ids must be unique ({block_id!r} is used twice)",
                            param=f"{at}.id",
                        )
                    seen.add(block_id)
                    ids.append(block_id)
            if ids and t + 1 < len(found):
                answered = _result_ids(found[t + 1])
                missing = [i for i in ids if i not in answered]
                if missing:
                    raise BadRequest(
                        f"messages: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(missing)}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message.",
                        param="messages",
                    )
        else:
            asked: set[str] = set()
            if t > 0 and found[t - 1].role == "assistant":
                asked = {
                    asked_id
                    for b, _ in found[t - 1].blocks
                    if b["type"] == "tool_use" and isinstance(asked_id := b.get("id"), str)
                }
            for block, at in turn.blocks:
                if block["type"] == "tool_result":
                    result_id = required_str(block, "tool_use_id", at)
                    if result_id not in asked:
                        raise BadRequest(
                            f"{at}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{result_id}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.",
                            param=f"{at}.tool_use_id",
                        )


def _result_ids(turn: Turn) -> set[str]:
    if turn.role != "user":
        return set()
    return {
        result_id
        for b, _ in turn.blocks
        if b["type"] == "tool_result" and isinstance(result_id := b.get("tool_use_id"), str)
    }


def required_str(value: JSONObject, name: str, at: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found:
        raise BadRequest(f"{at}.{name}: Field required (a non-empty string)", param=f"{at}.{name}")
    return found
