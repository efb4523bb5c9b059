"""Posting to a union group chat, with a private fallback to the unit's officers.

Zalo's group chats are in beta: a post can fail where a private message works. When a
group post fails, the same text goes to each reachable officer of the group's unit, so the
ranking reaches the people who would share it anyway.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

from bot.channels import ChannelError, with_retries
from bot.dispatch import Sender
from bot.service import ChatService
from dialogs.events import Reply

log = logging.getLogger(__name__)


class Delivered(StrEnum):
    GROUP = "group"
    OFFICERS = "officers"
    NOBODY = "nobody"


async def post_to_group(
    sender: Sender, service: ChatService, group_chat_id: str, text: str
) -> Delivered:
    """Post `text` to the group; if that fails, to its unit's officers privately."""
    reply = Reply(text)

    async def to_group() -> None:
        await sender.send(group_chat_id, reply)

    try:
        await with_retries(to_group, attempts=3)
        return Delivered.GROUP
    except ChannelError as error:
        log.warning(
            "%s group %s refused the post (%s); sending to officers",
            sender.name,
            group_chat_id,
            error,
        )
    chats = await asyncio.to_thread(service.group_officer_chats, sender.name, group_chat_id)
    delivered = 0
    for chat_id in chats:

        async def to_officer(chat_id: str = chat_id) -> None:
            await sender.send(chat_id, reply)

        try:
            await with_retries(to_officer, attempts=3)
            delivered += 1
        except ChannelError:
            log.warning("could not reach officer %s on %s", chat_id, sender.name)
    return Delivered.OFFICERS if delivered else Delivered.NOBODY
