"""The portal's sections, in the order the navigation shows them: (label, URL name)."""

SECTIONS = [
    ("Overview", "portal:overview"),
    ("API keys", "portal:keys"),
    ("Webhooks", "portal:webhooks"),
    ("Request log", "portal:logs"),
    ("Usage", "portal:usage"),
    ("Credits", "portal:credits"),
    ("Customers", "portal:customers"),
    ("Sessions", "portal:sessions"),
    ("Team", "portal:team"),
    ("Events and scopes", "portal:catalogues"),
]
