"""The signed render callback: what an asynchronous renderer posts back, and our answer."""

from rest_framework import serializers


class RenderCallbackSerializer(serializers.Serializer):
    tryonId = serializers.CharField()
    jobId = serializers.CharField()
    status = serializers.ChoiceField(choices=["completed", "failed"])
    contentType = serializers.ChoiceField(choices=["image/jpeg", "image/png"], required=False)
    image = serializers.CharField(required=False, help_text="Base64 of the rendered image (when completed).")
    error = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RenderCallbackResponseSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    applied = serializers.BooleanField(
        help_text="False when the callback was stale (retried or finished item)."
    )
