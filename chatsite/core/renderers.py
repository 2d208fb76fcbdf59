"""The JSON every API answer is written in (REST_FRAMEWORK's DEFAULT_RENDERER_CLASSES)."""

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON, ending with a newline as Go's json.Encoder ends it, so `curl` output ends its line."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        body = super().render(data, accepted_media_type, renderer_context)
        return body + b"\n" if body else body
