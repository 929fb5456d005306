"""A staff member in the admin over plain HTTP (requests), as an outsider scripting the console would be.

The service runs as in production, behind a TLS-terminating proxy: its session and CSRF cookies are Secure
and it trusts `X-Forwarded-Proto`. This client plays that proxy's part (it says https and keeps the Secure
cookies on the loopback connection), logs in through the login form with its CSRF token, and fills forms
from the pages as a browser would: every field the page holds, with the values it shows.
"""

from html.parser import HTMLParser

import requests
from django.contrib.admin.utils import quote
from django.urls import reverse

from tests.factories import PASSWORD


class FormReader(HTMLParser):
    """The fields a browser would submit for the form with `form_id` (submit buttons aside)."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.found, self.fields = form_id, False, []
        self._inside = False
        self._select: list | None = None  # [name, first value, selected value]
        self._textarea: list | None = None  # [name, text]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = attrs.get("id") == self.form_id
            self.found = self.found or self._inside
            return
        if not self._inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value") or ("on" if kind in {"checkbox", "radio"} else "")))
        elif tag == "select" and name:
            self._select = [name, None, None]
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in attrs:
                self._select[2] = value
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "select" and self._select is not None:
            name, first, selected = self._select
            self.fields.append((name, selected if selected is not None else first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append(tuple(self._textarea))
            self._textarea = None


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    reader = FormReader(form_id)
    reader.feed(html)
    assert reader.found, f"no form #{form_id} on the page"
    return reader.fields


def change_path(organization_id: str) -> str:
    return reverse("admin:organizations_organization_change", args=[quote(organization_id)])


class AdminSession:
    """One staff member's signed-in admin session against `service` (tests.live_service.LiveService)."""

    def __init__(self, service, username: str, password: str = PASSWORD):
        self.base = service.url()
        self.http = requests.Session()
        self.http.headers.update(
            {"X-Forwarded-Proto": "https", "Origin": "https://" + self.base.split("://", 1)[1]}
        )
        login = self.get("/admin/login/")
        response = self.post(
            "/admin/login/?next=/admin/",
            [
                ("csrfmiddlewaretoken", self.csrf_token(login.text)),
                ("username", username),
                ("password", password),
            ],
        )
        assert response.status_code == 302, f"login refused: {response.status_code} {response.text[:300]}"

    def _keep_secure_cookies(self, response: requests.Response) -> requests.Response:
        # The proxy's https ends before the loopback hop: keep sending the Secure cookies on it.
        for cookie in self.http.cookies:
            cookie.secure = False
        return response

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self.url(path), allow_redirects=False, timeout=60, **kwargs)
        return self._keep_secure_cookies(response)

    def post(self, path: str, data, **kwargs) -> requests.Response:
        headers = {"Referer": "https://" + self.url(path).split("://", 1)[1]}
        response = self.http.post(
            self.url(path), data=data, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        return self._keep_secure_cookies(response)

    @staticmethod
    def csrf_token(html: str) -> str:
        return dict(form_fields(html, "login-form"))["csrfmiddlewaretoken"]

    def organization_form(self, organization_id: str) -> list[tuple[str, str]]:
        """The organization's change form as the page shows it now."""
        page = self.get(change_path(organization_id))
        assert page.status_code == 200, page.status_code
        return form_fields(page.text, "organization_form")

    def save_organization(self, organization_id: str, **changes: str) -> requests.Response:
        """Open the change page and press Save, with `changes` typed over the fields the page shows."""
        fields = [(name, changes.get(name, value)) for name, value in self.organization_form(organization_id)]
        return self.post(change_path(organization_id), [*fields, ("_save", "Save")])
