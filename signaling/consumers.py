"""`/v1/connect`: a registered user's socket, forwarding WebRTC signals to other users."""

import asyncio
import logging

from channels.exceptions import ChannelFull
from django.conf import settings

from chatsite.core import database, metrics
from chatsite.core.consumers import ProjectConsumer
from signaling import identity, services
from signaling.protocol import (
    ClientError,
    cause_frame,
    error_frame,
    parse_signal,
    target_not_found_frame,
)

logger = logging.getLogger(__name__)

UNAUTHENTICATED_OR_TAKEN = 4000
KICKED = 4001


def user_of(scope):
    return services.user_of(identity.identity_from_scope(scope))


class SignalingConsumer(ProjectConsumer):
    """Holds the user's one active connection while the socket lives."""

    user = None  # set only while this socket holds the user's active-connection row
    heartbeat = None

    # --- Client frames ---

    async def connect(self):
        # Claim before accepting, so a client whose socket opens is already reachable; refusals
        # still accept, because a cause frame and a close code can only follow an open socket.
        user = await database.run(user_of, self.scope)
        if user and await database.run(services.claim_connection, user, self.channel_name):
            self.user = user  # from here on, disconnect() releases the row whatever happens
        await self.accept()
        if not user:
            return await self.close_because("UNAUTHENTICATED", UNAUTHENTICATED_OR_TAKEN)
        if not self.user:
            return await self.close_because("ALREADY_EXISTS", UNAUTHENTICATED_OR_TAKEN)
        self.heartbeat = asyncio.create_task(self.keep_alive())

    async def receive(self, text_data=None, bytes_data=None):
        if not self.user:
            return  # closing: no longer reachable, so it may not send either
        if not await self.frame_allowed(text_data, bytes_data):
            return
        try:
            if text_data is None:
                raise ClientError("frames must be JSON text, not binary")
            await self.forward(parse_signal(text_data))
        except ClientError as error:
            await self.refuse_frame(str(error))

    async def refuse_frame(self, reason):
        await self.send(text_data=error_frame(reason))

    async def disconnect(self, code):
        if self.heartbeat:
            self.heartbeat.cancel()
        if self.user:
            await database.run(services.release_connection, self.user.pk, self.channel_name)
            self.user = None

    # --- Command helpers ---

    async def forward(self, signal):
        channel_name = await database.run(services.live_channel_name, signal.target)
        if not channel_name:
            return await self.send(text_data=target_not_found_frame(signal.target))
        try:
            await self.channel_layer.send(
                channel_name, {"type": "signaling.forward", "text": signal.forwarded_from(self.user.username)}
            )
        except ChannelFull:
            raise ClientError(f"{signal.target} is not keeping up; send again later")
        except Exception as error:
            # Redis down (REDIS_URL): tell the sender and keep its socket, instead of letting
            # the exception end the consumer (a 1011 close); the layer reconnects by itself.
            logger.warning("Forwarding to %s failed: %r", signal.target, error)
            raise ClientError(f"could not reach {signal.target} just now; send again later")
        metrics.SIGNALING_FRAMES_FORWARDED.inc()

    async def close_because(self, cause, code):
        """Name the cause in a frame, then close with it as the reason (docs/protocols/signaling.md).

        Browsers read the reason (`CloseEvent.reason`); the frame is for clients that read frames only.
        """
        if code == KICKED:
            metrics.websocket_closed(metrics.KICKED)
        await self.send(text_data=cause_frame(cause))
        await self.close(code=code, reason=cause)

    async def keep_alive(self):
        """Refresh this socket's row so it never counts as stale; close when the row is gone."""
        while True:
            await asyncio.sleep(settings.SIGNALING_HEARTBEAT_INTERVAL)
            try:
                held = await database.run(services.refresh_connection, self.user.pk, self.channel_name)
            except Exception:
                logger.exception("Heartbeat of %s failed; trying again", self.user)
                continue
            if not held:
                # Kicked, or replaced after this process looked dead: the user is no longer here.
                self.user = None
                return await self.close_because("KICKED", KICKED)

    # --- Channel-layer events ---

    async def signaling_forward(self, event):
        await self.send(text_data=event["text"])

    async def signaling_kick(self, event):
        if not self.user:
            return  # the heartbeat saw the row go first and has closed already
        if self.heartbeat:
            self.heartbeat.cancel()
        self.user = None
        await self.close_because("KICKED", KICKED)
