"""Prefixed opaque identifiers (`org_…`, `key_…`, `cust_…`): partners see what a value is at a glance."""

import secrets
import string

from django.db import models

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22  # ~131 bits: unguessable, so ids leak nothing about volume or order


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


class PrefixedIdField(models.CharField):
    """A primary key such as `org_4fQ…`, generated on creation."""

    def __init__(self, prefix: str, *args, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        for default_key in ("max_length", "primary_key", "editable"):
            kwargs.pop(default_key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if add and not value:
            value = new_id(self.prefix)
            setattr(model_instance, self.attname, value)
        return value
