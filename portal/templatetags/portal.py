from django import template
from django.urls import NoReverseMatch, reverse

from portal.navigation import SECTIONS

register = template.Library()


@register.inclusion_tag("portal/nav.html", takes_context=True)
def portal_nav(context):
    path = context["request"].path
    sections = []
    for label, name in SECTIONS:
        try:
            url = reverse(name)
        except NoReverseMatch:  # a section whose pages are not routed (tests check every one is)
            continue
        current = path == url if url.rstrip("/") == "/portal" else path.startswith(url)
        sections.append({"label": label, "url": url, "current": current})
    return {"sections": sections}
