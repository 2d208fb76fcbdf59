"""Every write of the chat, and what each announces.

A write returns the Broadcast that announces it; services never send. The caller hands it
to the broker (messaging/broker.py) once the write has committed, that is once its
database hop has returned: the writer for messages, the token consumer for its session's
notices (docs/architecture.md, "Who broadcasts").
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q
from django.utils import timezone

from chatsite.core.names import name_key
from messaging import protocol
from messaging.fanout import Broadcast
from messaging.models import ChatSession, Dialect, Message, Room, room_key
from messaging.store import store

GLOBAL_ROOM = "global"
# "." instead of ":" keeps the token legal as a WebSocket subprotocol (docs/protocols/chat.md).
_signer = signing.TimestampSigner(salt="messaging.token", sep=".")


class ChatError(Exception):
    """A refusal whose text is what the client is told."""


# --- notices -----------------------------------------------------------------------


def notice(room: Room, body: str) -> Broadcast:
    """A system notice to the token-dialect clients in `room` (nane has no notices)."""
    return Broadcast().to_room(room.key, protocol.system_frame(body))


# --- rooms and messages ------------------------------------------------------------


def find_room(name: str) -> Room | None:
    return Room.objects.named(name).first()


def create_room(name: str) -> Room:
    """A new room; ChatError if the name is invalid, the room exists, or CHAT_MAX_ROOMS exist."""
    try:
        clean = protocol.clean_room_name(name)
    except protocol.ProtocolError as error:
        raise ChatError(f"invalid room name {name}: {error}")
    with transaction.atomic():
        if Room.objects.named(clean).exists():
            raise ChatError(f"room {name} already exists")
        if Room.objects.count() >= settings.CHAT_MAX_ROOMS:
            raise too_many_rooms(name)
        room, created = Room.objects.get_or_create(key=room_key(clean), defaults={"name": clean})
    if not created:
        raise ChatError(f"room {name} already exists")
    return room


def too_many_rooms(name: str) -> ChatError:
    return ChatError(f"cannot create room {name}: this server has its most rooms ({settings.CHAT_MAX_ROOMS})")


@dataclass(frozen=True)
class Post:
    room_name: str
    sender: str
    text: str
    client_id: str | None = None


@dataclass(frozen=True)
class Posted:
    """A message as stored: its room, its number in the room, and what the client sent."""

    room_key: str
    room_name: str
    seq: int
    sender: str
    text: str
    client_id: str | None
    created: datetime


def post_message(*, room_name: str, sender: str, text: str, client_id: str | None = None) -> Posted | ChatError:
    """Store a message (creating the room) and trim the history; returns it as Posted."""
    posted, _ = post_messages([Post(room_name, sender, text, client_id)])
    return posted[0]


def post_messages(posts: Sequence[Post]) -> tuple[list[Posted | ChatError], Broadcast]:
    """Store several messages at once, in order (messaging/store.py): (a Posted each, their Broadcast).

    A post to a room that cannot be created (CHAT_MAX_ROOMS) is not stored: its entry is a
    ChatError saying why, and the others are stored all the same.
    """
    now = timezone.now()
    by_room = defaultdict(list)  # room key → indexes into posts, in order
    for index, post in enumerate(posts):
        by_room[room_key(post.room_name)].append(index)
    rooms = []
    for key, indexes in by_room.items():
        messages = [(posts[index].sender, posts[index].text, posts[index].client_id) for index in indexes]
        rooms.append((key, posts[indexes[0]].room_name.strip(), messages))
    posted = [None] * len(posts)
    for (key, indexes), stored in zip(by_room.items(), store(rooms, now), strict=True):
        for n, index in enumerate(indexes):
            post = posts[index]
            if stored is None:
                posted[index] = too_many_rooms(post.room_name.strip())
                continue
            room_name, first = stored
            posted[index] = Posted(key, room_name, first + n, post.sender, post.text, post.client_id, now)
    broadcast = Broadcast()
    for p in posted:
        if isinstance(p, ChatError):
            continue
        fields = {"room": p.room_name, "text": p.text, "sender": p.sender, "created": now}
        broadcast.nane.append(protocol.nane_frame(**fields, seq=p.seq, client_id=p.client_id))
        broadcast.to_room(p.room_key, protocol.token_frame(p.sender, p.text))
    return posted, broadcast


def message_as_dict(message: Message, room_name: str) -> dict[str, Any]:
    return protocol.message_dict(
        room=room_name,
        seq=message.seq,
        text=message.text,
        sender=message.sender,
        created=message.created,
        client_id=message.client_id,
    )


def history(room: Room, before: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """A page of a room's messages, oldest first: the newest `limit` numbered below `before`.

    With neither, the newest `CHAT_MAX_MESSAGES_IN_ROOM`: the whole history.
    """
    messages = room.messages.order_by("-seq")
    if before is not None:
        messages = messages.filter(seq__lt=before)
    newest = list(messages[: limit or settings.CHAT_MAX_MESSAGES_IN_ROOM])
    return [message_as_dict(message, room.name) for message in reversed(newest)]


@dataclass(frozen=True)
class Replay:
    """A room's stored messages numbered above a recover frame's `since`, as frames."""

    recover: protocol.Recover
    room_key: str
    room_name: str
    newest: int  # the room's newest number when the messages were read
    frames: tuple
    recovered: bool  # every message from since + 1 to newest is among them

    def trail(self) -> "Trail":
        return Trail(self.room_key, max(self.recover.since, self.newest))

    def ending(self, live: Iterable[str], trail: "Trail") -> list[str]:
        """What follows the replay: `recovered`, then the live frames held meanwhile that it did not cover.

        A message committed before the replay was read is in both, one committed after it only in `live`.
        """
        answer = protocol.recovered_frame(self.recover, self.recovered, self.room_name, self.newest)
        return [answer, *(frame for frame in live if not trail.stale(frame))]


class Trail:
    """Tells the live frames of a recovered room the replay already had, until a newer one of the room comes.

    With several nodes, a message stored by another node can be read by the replay before
    that node's broadcast of it arrives here: it must not be sent twice.
    """

    def __init__(self, room_key: str, covered: int) -> None:
        self.room_key, self.covered, self.done = room_key, covered, False

    def stale(self, frame: str) -> bool:
        room, seq = protocol.room_and_seq(frame)
        if room_key(room) != self.room_key:
            return False
        if seq > self.covered:
            self.done = True
            return False
        return True


REPLAYED_FIELDS = ("seq", "sender", "text", "client_id", "created")


def replay(recover: protocol.Recover) -> Replay:
    """The messages of a recover frame's room after its `since`, in one query; ChatError if no such room."""
    missed = FilteredRelation("messages", condition=Q(messages__seq__gt=recover.since))
    rows = list(
        Room.objects.named(recover.room)
        .annotate(missed=missed)
        .order_by("missed__seq")
        .values_list("key", "name", "last_seq", *(f"missed__{field}" for field in REPLAYED_FIELDS))
    )
    if not rows:
        raise ChatError(f"room {recover.room} not found")
    key, name, newest = rows[0][:3]
    frames = tuple(
        protocol.nane_frame(room=name, seq=seq, sender=sender, text=text, client_id=client_id, created=created)
        for *_, seq, sender, text, client_id, created in rows
        if seq is not None
    )
    first = rows[0][3]
    recovered = newest <= recover.since or (first == recover.since + 1 and len(frames) == newest - recover.since)
    return Replay(recover, key, name, newest, frames, recovered)


def room_as_dict(room: Room, last_message: Message | None = None) -> dict[str, Any]:
    return {"name": room.name, "last_message": message_as_dict(last_message, room.name) if last_message else None}


def rooms_with_last_message() -> list[dict[str, Any]]:
    """Every room with its newest message, in two queries whatever the number of rooms.

    A room's `last_seq` names its newest message, which the history cap never deletes.
    """
    rooms = list(Room.objects.all())
    wanted = {(room.pk, room.last_seq) for room in rooms if room.last_seq}
    last = {}
    if wanted:
        room_ids = {pk for pk, _ in wanted}
        seqs = {seq for _, seq in wanted}
        for message in Message.objects.filter(room_id__in=room_ids, seq__in=seqs):
            if (message.room_id, message.seq) in wanted:
                last[message.room_id] = message
    return [room_as_dict(room, last.get(room.pk)) for room in rooms]


def room_detail(room: Room) -> dict[str, Any]:
    return room_as_dict(room, room.messages.order_by("-seq").first())


def room_names() -> list[str]:
    return sorted(Room.objects.values_list("name", flat=True), key=str.lower)


# --- expiry ------------------------------------------------------------------------


def prune_expired(now: datetime | None = None) -> int:
    """Delete token sessions that hold no nickname any more, and rooms idle for CHAT_ROOM_IDLE_TTL; how many went.

    A session's token dies with its row (its id is never handed out again), so `/auth`
    rows last only as long as they reserve a nickname. A room is idle when neither its
    newest message nor its creation is within the TTL and no token session is in it;
    `global`, where every token session starts, stays.
    """
    now = now or timezone.now()
    sessions = ChatSession.objects.filter(Q(ended__isnull=False) | Q(pk__in=ChatSession.objects.stale(now)))
    pruned = sessions.delete()[1].get(ChatSession._meta.label, 0)
    if settings.CHAT_ROOM_IDLE_TTL > 0:
        cutoff = now - timedelta(seconds=settings.CHAT_ROOM_IDLE_TTL)
        recent = Message.objects.filter(room=OuterRef("pk"), seq=OuterRef("last_seq"), created__gte=cutoff)
        present = ChatSession.objects.filter(room=OuterRef("pk"), ended__isnull=True)
        idle = Room.objects.filter(created__lt=cutoff).exclude(key=GLOBAL_ROOM).exclude(Exists(recent))
        pruned += idle.exclude(Exists(present)).delete()[1].get(Room._meta.label, 0)
    return pruned


# --- names: one speaker per name, in either dialect (chatsite/core/names.py) --------------


def _free_stale(key: str, now: datetime) -> None:
    ChatSession.objects.stale(now).filter(key=key).update(ended=now)


def _check_nickname(nickname: object) -> None:
    problem = protocol.nickname_problem(nickname)
    if problem:
        raise ChatError(problem)


class _Raced(Exception):
    """Another node ended a name between a claim's look and its write."""


def claim_nane_name(username: str) -> int | None:
    """Hold a nane username for this node; the id of its row, or None when someone else speaks as it.

    Nane sockets with the very same spelling share the name, on every node (a person's
    tabs: the dialect has no login to tell them apart); any other holder of the same key,
    a token session or another spelling, keeps it.
    """
    for _ in range(3):  # another look, when another node claimed or freed the name meanwhile
        try:
            return _claim_together([username])[0]
        except (IntegrityError, _Raced):
            continue
    return None


def claim_nane_names(usernames: Sequence[str]) -> list[int | None]:
    """`claim_nane_name` of each username, of distinct name keys, in one transaction.

    A thousand sockets that connect at once (a restart, a network back) cost a transaction
    a batch instead of one each. Should another node take or free one of these names
    meanwhile, the batch is rolled back and each name claimed alone.
    """
    try:
        return _claim_together(usernames)
    except (IntegrityError, _Raced):
        return [claim_nane_name(username) for username in usernames]


def _claim_together(usernames: Sequence[str]) -> list[int | None]:
    keys = [name_key(username) for username in usernames]
    if len(set(keys)) != len(keys):
        raise ValueError("claim_nane_names takes one username per name key")
    now = timezone.now()
    with transaction.atomic():
        ChatSession.objects.stale(now).filter(key__in=keys).update(ended=now)
        held = {row.key: row for row in ChatSession.objects.filter(key__in=keys, ended__isnull=True)}
        new = [
            ChatSession(nickname=username, key=key, dialect=Dialect.NANE, issued=now, connected=now, seen=now, nodes=1)
            for username, key in zip(usernames, keys, strict=True)
            if key not in held
        ]
        ChatSession.objects.bulk_create(new)  # an IntegrityError if another node claimed one meanwhile
        created = iter(new)
        outcomes, joined = [], []
        for username, key in zip(usernames, keys, strict=True):
            row = held.get(key)
            if row is None:
                outcomes.append(next(created).pk)
            elif row.dialect == Dialect.NANE and row.nickname == username:
                outcomes.append(row.pk)
                joined.append(row.pk)
            else:
                outcomes.append(None)
        if joined:
            rows = ChatSession.objects.filter(pk__in=joined, ended__isnull=True)
            if rows.update(nodes=F("nodes") + 1, seen=now) != len(joined):
                raise _Raced
        return outcomes


def refresh_nane_names(ids: Collection[int]) -> set[int]:
    """Heartbeat of a node's nane names; the ids among them that no longer hold their name (ended or pruned)."""
    now = timezone.now()
    ChatSession.objects.filter(pk__in=ids, ended__isnull=True).update(seen=now)
    held = ChatSession.objects.filter(pk__in=ids, ended__isnull=True).values_list("pk", flat=True)
    return set(ids) - set(held)


def release_nane_names(session_ids: list[int]) -> None:
    """This node's last socket of each of these nane usernames has gone; a name is free once no node holds it."""
    with transaction.atomic():
        held = ChatSession.objects.filter(pk__in=session_ids, ended__isnull=True)
        held.filter(nodes__gt=0).update(nodes=F("nodes") - 1)
        held.filter(nodes__lte=0).update(ended=timezone.now())


# --- token-dialect sessions --------------------------------------------------------


def issue_token(nickname: str) -> str:
    """Reserve a nickname and return the signed token that claims it; ChatError if refused."""
    _check_nickname(nickname)
    now = timezone.now()
    try:
        with transaction.atomic():
            _free_stale(name_key(nickname), now)
            session = ChatSession.objects.create(
                nickname=nickname, issued=now, expires=now + timedelta(seconds=settings.CHAT_TOKEN_TTL)
            )
    except IntegrityError:
        raise ChatError(f"nickname {nickname} is already taken")
    return _signer.sign_object({"s": session.pk})


def open_session(token: str) -> ChatSession | None:
    """Claim the session a token names; None when the token is bad, expired, used or late."""
    try:
        session_id = _signer.unsign_object(token, max_age=settings.CHAT_TOKEN_TTL)["s"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    now = timezone.now()
    with transaction.atomic():
        global_room, _ = Room.objects.get_or_create(key=GLOBAL_ROOM, defaults={"name": GLOBAL_ROOM})
        # One conditional UPDATE: of two connections racing with one token, one wins.
        claimed = (
            ChatSession.objects.holding_nickname(now)
            .filter(pk=session_id, dialect=Dialect.TOKEN, connected__isnull=True)
            .update(connected=now, seen=now, room=global_room)
        )
        if claimed != 1:
            # A refused handshake stores nothing, not even the `global` room made for it.
            transaction.set_rollback(True)
            return None
    return ChatSession.objects.select_related("room").get(pk=session_id)


def joined_notice(session: ChatSession) -> Broadcast:
    """Tells the session's room (the joiner included) that it has joined."""
    return notice(session.room, f"{session.nickname} joined")


def switch_room(session: ChatSession, room: Room) -> Broadcast:
    """Move a session to another room; returns `left` for the old room and `joined` for the new one."""
    old = session.room
    ChatSession.objects.filter(pk=session.pk).update(room=room)
    session.room = room
    left = notice(old, f"{session.nickname} left") if old is not None else Broadcast()
    return Broadcast(rooms={**left.rooms, **joined_notice(session).rooms})


def set_nickname(session: ChatSession, nickname: str) -> Broadcast:
    """Rename a live session, freeing the old nickname; returns the room's notice. ChatError if invalid or taken."""
    _check_nickname(nickname)
    old = session.nickname
    if nickname == old:
        return Broadcast()
    key, now = name_key(nickname), timezone.now()
    try:
        with transaction.atomic():
            _free_stale(key, now)
            ChatSession.objects.filter(pk=session.pk).update(nickname=nickname, key=key)
    except IntegrityError:
        raise ChatError(f"nickname {nickname} is already taken")
    session.nickname, session.key = nickname, key
    return notice(session.room, f"{old} is now {nickname}") if session.room is not None else Broadcast()


def refresh_session(session: ChatSession) -> bool:
    """Heartbeat: the session still holds its nickname; False once it was ended (taken over after going stale)."""
    return ChatSession.objects.filter(pk=session.pk, ended__isnull=True).update(seen=timezone.now()) == 1


def end_session(session: ChatSession) -> Broadcast:
    """Free the nickname and kill the token; returns the room's `left`, once, whatever ended it."""
    ended = ChatSession.objects.filter(pk=session.pk, ended__isnull=True).update(ended=timezone.now())
    return notice(session.room, f"{session.nickname} left") if ended and session.room is not None else Broadcast()


def users_in(room: Room) -> list[str]:
    live = ChatSession.objects.holding_nickname().filter(room=room, connected__isnull=False)
    return sorted(live.values_list("nickname", flat=True))


class UsernameRefused(ChatError):
    """`/ws?username=` refuses this name; `invalid` when no moment would accept it (else it is held)."""

    def __init__(self, message: str, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


def nane_username(name: str) -> str:
    """The username a nane handshake joins as, or UsernameRefused saying why.

    The handshake refuses with a bare 403, which a browser cannot read; the chat page asks
    `GET /api/username-check` (the same rule) to tell its user why, and stops retrying.
    It only looks: the handshake claims the name (`claim_nane_name`, the same rule).
    """
    try:
        name = protocol.clean_username(name)
    except protocol.ProtocolError as error:
        raise UsernameRefused(str(error), invalid=True) from None
    held = ChatSession.objects.holding_nickname().filter(key=name_key(name)).first()
    if held is not None and held.dialect != Dialect.NANE:
        raise UsernameRefused(f"username {name} is held by a token-dialect chat session", invalid=False)
    if held is not None and held.nickname != name:
        raise UsernameRefused(f"username {name} is held in the chat as {held.nickname}", invalid=False)
    return name
