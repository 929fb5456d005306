"""Signup's requests and answers (README, "Signup"): strings only where strings are meant (a number or a
list is a 400, not coerced), texts without control characters, before any trimming."""

from rest_framework import serializers

from api.text import NameField, refuse_control_characters
from organizations.models import credits_number

# The email is the username, which Django keeps to 150 characters.
EMAIL_MAX_LENGTH = 150


class _StringOnly:
    """A string field that refuses any other JSON type (DRF's CharField would turn 42 into "42")."""

    def run_validation(self, data=serializers.empty):
        if data is not serializers.empty and data is not None and not isinstance(data, str):
            self.fail("invalid")
        return super().run_validation(data)


class _Strict(_StringOnly):
    """...and refuses control and format characters anywhere, before DRF trims the text."""

    def run_validation(self, data=serializers.empty):
        refuse_control_characters(data)
        return super().run_validation(data)


class _Password(_StringOnly, serializers.CharField):
    pass


class _Email(_Strict, serializers.EmailField):
    pass


class _Text(_Strict, serializers.CharField):
    pass


class _Name(_Strict, NameField):
    pass


class SignupSerializer(serializers.Serializer):
    email = _Email(
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        help_text="PARTNER_SIGNUP=open: the email to verify; it becomes the username (domain lowercased).",
    )
    token = _Text(
        required=False,
        max_length=100,
        help_text="A partner invitation's token (from its email), instead of `email`: it proves the email.",
    )
    password = _Password(
        max_length=128, trim_whitespace=False, write_only=True, help_text="Django's password rules apply."
    )
    organizationName = _Name(max_length=200)

    def validate(self, attrs):
        if ("email" in attrs) == ("token" in attrs):
            raise serializers.ValidationError(
                {"email": ["Send either `email` (open signup) or an invitation's `token`, not both."]}
            )
        return attrs


class SignupAcceptedSerializer(serializers.Serializer):
    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=["verification_sent"])
    message = serializers.CharField()


class SignupVerifySerializer(serializers.Serializer):
    token = _Text(max_length=100, help_text="The token from the verification email.")


class SignupCreatedSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    organizationId = serializers.CharField(source="organization.id")
    organizationName = serializers.CharField(source="organization.name")
    credits = serializers.SerializerMethodField()

    def get_credits(self, result) -> float:
        return credits_number(result.organization.credits)
