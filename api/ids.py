"""Prefixed opaque identifiers (`org_…`, `key_…`, `cust_…`): partners see what a value is at a glance."""

import secrets
import string

from django.db import models

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22  # ~131 bits: unguessable, so ids leak nothing about volume or order


_ID_SPACE = len(_ALPHABET) ** _RANDOM_LENGTH


def new_id(prefix: str) -> str:
    # One draw from the OS random source spelled in base 62: the same uniform ids as 22 independent
    # secrets.choice() calls, without their 22 urandom reads (a 20-item cart creates 21 ids).
    number = secrets.randbelow(_ID_SPACE)
    digits = []
    for _ in range(_RANDOM_LENGTH):
        number, digit = divmod(number, len(_ALPHABET))
        digits.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(digits)


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
