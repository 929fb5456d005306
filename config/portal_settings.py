"""Settings of the partner portal (/portal/): its session sign-in and second factor. Read through
config.environment like the rest of config/settings.py (which star-imports this module); the README's
Configuration table documents them."""

__all__: list[str] = []
