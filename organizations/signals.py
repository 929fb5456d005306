"""Signals other apps listen to, so organizations never imports the apps that build on it."""

from django.dispatch import Signal

# Sent after the transaction that changed an organization's status commits (never for a rolled-back
# change), with `organization` and `status`. apikeys blocks or unblocks the organization's keys on it.
organization_status_changed = Signal()

# Sent after the transaction that changed an organization's pinned API version commits, with `organization`.
# apikeys refreshes the organization's cached keys, which carry the pin (apikeys/principal.py).
organization_api_version_changed = Signal()
