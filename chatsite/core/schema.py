"""OpenAPI pieces more than one app's endpoints answer with."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"error": serializers.CharField()})
