"""`/ws`: the nane and token dialects of docs/protocols/chat.md, chosen at the handshake."""

import asyncio
import logging

from channels.security.websocket import WebsocketDenier
from django.conf import settings

from chatsite.core import database, database_unavailable
from chatsite.core.consumers import ProjectConsumer
from messaging import protocol, services
from messaging.broker import get_broker
from messaging.fanout import connection_for
from messaging.nane_names import get_nane_names
from messaging.writer import get_writer

log = logging.getLogger(__name__)


class ChatEntrance:
    """The `/ws` application: a token picks the token dialect, a username the nane one."""

    async def __call__(self, scope, receive, send):
        handshake = protocol.read_handshake(scope)
        scope = {**scope, "chat_handshake": handshake}
        if handshake.token:
            app = TokenConsumer.as_asgi()
        elif handshake.username is not None:
            app = NaneConsumer.as_asgi()
        else:
            app = WebsocketDenier()
        return await app(scope, receive, send)


class ChatConsumer(ProjectConsumer):
    """What both dialects share: the socket's place in the fan-out, and the two ways a frame reaches it.

    A frame for this socket alone goes out with `tell()`, behind the broadcast frames already
    written to it, so an answer never overtakes what was sent before it; a socket's last
    frame goes out with `close_with()`, straight out and followed by the close frame.
    Frames for other sockets are broadcasts: services return them, and whoever awaited the
    write publishes them through the broker once it has committed (docs/architecture.md).
    """

    # Broadcasts reach sockets through the broker and the local fan-out, never as a layer
    # message per client, so a consumer needs no channel of its own (an alias that is not
    # configured → None).
    channel_layer_alias = "messaging.consumers-use-the-broker"

    async def websocket_connect(self, message):
        self.closing = False
        self.broker = get_broker()
        self.fanout = self.broker.fanout
        self.connection = connection_for(self.scope, self.base_send, self.overflow_text())
        await self.broker.start()
        await self.connect()

    async def websocket_receive(self, message):
        if self.closing:
            return  # frames already in flight after we closed: nobody is listening for the answers
        text, data = message.get("text"), message.get("bytes")
        if not await self.frame_allowed(text, data):
            return
        if text is None:
            text = (data or b"").decode("utf-8", "replace")
        await self.receive(text_data=text)

    async def refuse_frame(self, reason):
        await self.send_error(protocol.ProtocolError(reason))

    def tell(self, *texts):
        """Frames for this socket alone, in order with the broadcasts written to it."""
        self.connection.write(list(texts))

    async def send_error(self, error):
        self.tell(self.error_text(error))

    async def close_with(self, text):
        """Leave the fan-out, send `text` as this socket's last frame, and close right behind it."""
        self.fanout.remove(self.connection)
        # Straight out, not queued behind the broadcasts: the close frame follows at once.
        await self.send(text_data=text)
        await self.close()

    async def close(self, code=None, reason=None):
        self.closing = True
        self.fanout.remove(self.connection)  # no broadcast frame may follow our close frame
        await super().close(code=code, reason=reason)

    def overflow_text(self):
        """The frame that tells a client it was closed for not reading (the server sends it)."""
        return self.error_text(services.ChatError("closed: you did not read your messages fast enough"))


class NaneConsumer(ChatConsumer):
    """The nane dialect: every session sees every room's messages."""

    # --- client frames ----------------------------------------------------------

    async def connect(self):
        self.names = get_nane_names()
        self.holds_name = False
        try:
            self.username = protocol.clean_username(self.scope["chat_handshake"].username)
        except protocol.ProtocolError:
            await self.close()
            return
        # One speaker per name: not while a token session or another spelling holds it.
        if not await self.names.enter(self.username, self):
            await self.close()
            return
        self.holds_name = True
        await self.accept()
        self.fanout.add_nane(self.connection)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = protocol.decode_nane(text_data, settings.CHAT_MAX_MESSAGE_LENGTH)
        except protocol.ProtocolError as error:
            await self.send_error(error)
            return
        if frame is protocol.PING:
            self.tell(protocol.PONG_FRAME)
        elif isinstance(frame, protocol.Recover):
            await self.recover(frame)
        else:
            await self.post(frame)

    async def disconnect(self, code):
        self.fanout.remove(self.connection)
        if self.holds_name:
            self.holds_name = False
            await self.names.leave(self.username, self)

    # --- command helpers --------------------------------------------------------

    async def name_lost(self):
        """Another speaker took the name while this node could not refresh it (nane_names.py)."""
        await self.close_with(
            self.error_text(services.ChatError(f"username {self.username} is now held by someone else"))
        )

    async def post(self, frame):
        try:
            await get_writer().post(services.Post(frame.room, self.username, frame.text, frame.client_id))
        except (services.ChatError, *database_unavailable.ERRORS) as error:
            # Nothing was stored or sent; the socket stays, so the client may send it again.
            text = str(error) if isinstance(error, services.ChatError) else database_unavailable.MESSAGE
            await self.send_error(protocol.ProtocolError(text, frame.client_id, frame.client_id is not None))

    async def recover(self, frame):
        """Replay a room's messages after `since`, merged with the live ones arriving meanwhile."""
        # Live frames wait from here on, so whatever the query below misses is among them.
        self.fanout.hold(self.connection)
        try:
            replay = await database.run(services.replay, frame)
            await self.connection.write_paced(replay.frames, settings.WS_MAX_SEND_BUFFER_BYTES // 4)
        except (services.ChatError, *database_unavailable.ERRORS) as error:
            if (live := self.fanout.release(self.connection)) is not None:
                text = str(error) if isinstance(error, services.ChatError) else database_unavailable.MESSAGE
                refusal = protocol.ProtocolError(text, frame.client_id, frame.has_id)
                self.tell(self.error_text(refusal), *live)
            return
        except BaseException:
            self.fanout.release(self.connection)
            raise
        # No await from here on: nothing can reach the socket between the release and these writes.
        if (live := self.fanout.release(self.connection)) is None:
            return  # closed meanwhile
        trail = replay.trail()
        self.tell(*replay.ending(live, trail))
        if not trail.done:
            self.fanout.follow(self.connection, trail)

    def error_text(self, error):
        if not isinstance(error, protocol.ProtocolError):
            error = protocol.ProtocolError(str(error))
        return protocol.nane_error(error)


class TokenConsumer(ChatConsumer):
    """The token dialect: a session in one room at a time, speaking through commands."""

    # --- client frames ----------------------------------------------------------

    async def connect(self):
        handshake = self.scope["chat_handshake"]
        self.session = self.heartbeat = None
        session = await database.run(services.open_session, handshake.token)
        if session is None:
            await self.close()
            return
        self.session = session
        await self.accept(subprotocol=handshake.subprotocol)
        # In the room before the notice goes out: the joiner hears its own `joined`.
        self.fanout.join(self.connection, session.room.key)
        self.broker.publish(services.joined_notice(session))
        self.heartbeat = asyncio.create_task(self.keep_alive())

    async def receive(self, text_data=None, bytes_data=None):
        try:
            command = protocol.decode_command(text_data)
            await getattr(self, f"command_{command.type}")(command.args)
        except (protocol.ProtocolError, services.ChatError) as error:
            await self.send_error(error)
        except database_unavailable.ERRORS:
            # The command did nothing; the socket stays, so the client may try again.
            await self.send_error(services.ChatError(database_unavailable.MESSAGE))

    async def disconnect(self, code):
        self.fanout.remove(self.connection)
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if self.session is not None:
            await self.end_session()

    # --- command helpers --------------------------------------------------------

    async def command_message(self, args):
        body = protocol.clean_text(args["body"], settings.CHAT_MAX_MESSAGE_LENGTH, field="message body")
        room = self.session.room
        await get_writer().post(services.Post(room.name, self.session.nickname, body))

    async def command_setnick(self, args):
        self.broker.publish(await database.run(services.set_nickname, self.session, args["nickname"]))

    async def command_switchroom(self, args):
        room = await database.run(services.find_room, args["room"])
        if room is None:
            raise services.ChatError(f"room {args['room']} does not exist")
        await self.move_to(room)

    async def command_createroom(self, args):
        room = await database.run(services.create_room, args["name"])
        await self.move_to(room)

    async def command_listusers(self, args):
        users = await database.run(services.users_in, self.session.room)
        self.tell(protocol.system_frame("\n".join(users)))

    async def command_listrooms(self, args):
        rooms = await database.run(services.room_names)
        self.tell(protocol.system_frame("\n".join(rooms)))

    async def command_exit(self, args):
        self.fanout.remove(self.connection)
        await self.end_session()
        await self.close()

    async def move_to(self, room):
        if room.pk == self.session.room.pk:
            raise services.ChatError(f"you are already in room {room.name}")
        # Out of the old room before the notices go out, so its `left` goes to the rest only,
        # and in the new one, so it hears its own `joined`.
        self.fanout.leave(self.connection)
        try:
            moved = await database.run(services.switch_room, self.session, room)
        except database_unavailable.ERRORS:
            self.fanout.join(self.connection, self.session.room.key)  # still in its room
            raise
        self.fanout.join(self.connection, room.key)
        self.broker.publish(moved)

    async def end_session(self):
        try:
            left = await database.run(services.end_session, self.session)
        except database_unavailable.ERRORS as error:
            # Its heartbeat stops with the socket, so the nickname is freed once stale (CHAT_SESSION_STALE_AFTER).
            log.warning("Chat session %s could not be ended: %s", self.session.nickname, error)
            return
        self.broker.publish(left)

    def error_text(self, error):
        return protocol.system_frame(str(error))

    async def keep_alive(self):
        """Refresh the session's heartbeat, so it keeps its nickname; close once it was taken over."""
        while True:
            await asyncio.sleep(settings.CHAT_SESSION_HEARTBEAT_INTERVAL)
            try:
                held = await database.run(services.refresh_session, self.session)
            except Exception:
                log.exception("Heartbeat of chat session %s failed; trying again", self.session.nickname)
                continue
            if not held:
                # Ended elsewhere: this process looked dead long enough for the nickname to be taken.
                await self.close_with(self.error_text(services.ChatError(f"session of {self.session.nickname} ended")))
                return
