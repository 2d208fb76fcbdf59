from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


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


class RegisterSerializer(serializers.Serializer):
    ip = IPLiteralField(protocol="both")
    port = JSONIntegerField(min_value=1, max_value=65535)
    name = JSONStringField(
        min_length=1,
        max_length=140,
        trim_whitespace=False,
        validators=[RegexValidator(r"^[^\x00]*$", "Null characters are not allowed.")],
    )


class HeartbeatSerializer(serializers.Serializer):
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
            "name": {"type": "string", "minLength": 1, "maxLength": 140},
        },
        "required": ["ip", "port", "connected", "name"],
    },
}
