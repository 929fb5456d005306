"""Reading environment variables strictly: a malformed value stops start-up with a message that names the
variable. config/settings.py is the one module that calls these; nothing else reads the environment."""

import ipaddress
import re

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def read(name, cast, default):
    """Read one variable, turning a malformed value into an error that names the variable."""
    try:
        return env.get_value(name, cast=cast, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} has an invalid value: {exc}") from None


def read_bool(name, default):
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be true or false, got {raw!r}")


def read_positive_int(name, default, minimum=1, maximum=None):
    value = read(name, int, default)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ImproperlyConfigured(f"Environment variable {name} must be an integer {bounds}, got {value}")
    return value


def read_networks(name):
    """A comma-separated list of IP addresses or CIDRs (the trusted proxies of api/client_address.py)."""
    networks = [n.strip() for n in read(name, list, []) if n.strip()]
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"Environment variable {name} must list IP addresses or CIDRs, got {network!r}"
            ) from None
    return networks


def read_header_name(name, default):
    """An HTTP header name such as X-Forwarded-Proto, or "" for none."""
    header = read(name, str, default).strip()
    if header and not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ImproperlyConfigured(f"{name} must be a header name, got {header!r}")
    return header


def read_email(url_name, from_name, default_from):
    """Django's EMAIL_* settings from one URL (django-environ's smtp://, smtp+tls://, consolemail://...) and
    the sender address; unset means the console backend, which prints mails to the worker's output."""
    config = read(url_name, env.email_url_config, env.email_url_config("consolemail://"))
    config["DEFAULT_FROM_EMAIL"] = config["SERVER_EMAIL"] = read(from_name, str, default_from)
    return config
