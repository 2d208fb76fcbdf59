import copy
from collections.abc import Mapping

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty

from nameserver.models import MAX_NAME_LENGTH


class StrictJSONType:
    """Refuse a value of the wrong JSON type; DRF would coerce "1234" → 1234, 7 → UUID(int=7)."""

    json_type = str

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, self.json_type):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONIntegerField(StrictJSONType, serializers.IntegerField):
    json_type = int


class JSONStringField(StrictJSONType, serializers.CharField):
    pass


class JSONUUIDField(StrictJSONType, serializers.UUIDField):
    pass


@extend_schema_field({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
class IPLiteralField(serializers.IPAddressField):
    """An IPv4 or IPv6 literal."""


class FlatSerializer(serializers.Serializer):
    """A serializer of one flat JSON object, whose fields are built once per class.

    DRF builds every field of a serializer again for each instance (a deep copy), then
    validates through its general machinery of sources and nested fields, on every
    heartbeat, for one UUID. A flat object needs neither. The
    fields, their messages and the shape of errors are DRF's; the object-level checks
    (`validate`, `validate_<field>`) are not run, so subclasses must not define them.
    """

    def run_validation(self, data=empty):
        if not isinstance(data, Mapping):
            return super().run_validation(data)  # DRF's own answer to a non-object
        return self.validated(data)

    @classmethod
    def validated(cls, data):
        """The validated data of `data`, or the ValidationError that `is_valid(raise_exception=True)`
        raises, without making a serializer: making one and asking it cost a share of a
        heartbeat's instructions (bench/README.md, "What made it faster")."""
        if not isinstance(data, Mapping):
            cls(data=data).is_valid(raise_exception=True)  # DRF's own error for a non-object
        values, errors = {}, {}
        for name, field in cls.shared_fields().items():
            try:
                values[name] = field.run_validation(data.get(name, empty))
            except ValidationError as error:
                errors[name] = error.detail
            except SkipField:
                pass
        if errors:
            raise ValidationError(errors)
        return values

    @classmethod
    def shared_fields(cls):
        # Unbound and never changed by validating, so every thread can share them.
        if "_shared_fields" not in cls.__dict__:
            cls._shared_fields = copy.deepcopy(cls._declared_fields)
        return cls._shared_fields


class RegisterSerializer(FlatSerializer):
    ip = IPLiteralField(protocol="both")
    port = JSONIntegerField(min_value=1, max_value=65535)
    name = JSONStringField(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        trim_whitespace=False,
        validators=[RegexValidator(r"^[^\x00]*$", "Null characters are not allowed.")],
    )


class HeartbeatSerializer(FlatSerializer):
    id = JSONUUIDField()


# `GET /clients` answers a map keyed by client id, which a serializer cannot describe.
LIVE_MAP_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "ip": {"type": "string"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "connected": {"type": "string", "format": "date-time"},
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
        },
        "required": ["ip", "port", "connected", "name"],
    },
}
