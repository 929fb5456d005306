from rest_framework.permissions import BasePermission

from api.errors import InvalidScope
from apikeys.admission import ApiKeyPrincipal
from apikeys.scopes import grants


class RequiresScope(BasePermission):
    """Each partner view declares `required_scopes = {action: scope}`; `all` grants everything."""

    def has_permission(self, request, view):
        principal = request.auth
        if not isinstance(principal, ApiKeyPrincipal):
            return False  # rendered as 401 InvalidApiKey
        needed = view.required_scopes.get(getattr(view, "action", None) or request.method.lower())
        if needed is None:
            # A view that forgot to declare its scope is closed, not open.
            raise InvalidScope("This operation is not available to API keys.")
        if not grants(principal.scopes, needed):
            raise InvalidScope(
                f"API key does not have the '{needed}' scope required for this operation.",
                details={"requiredScope": needed, "keyScopes": list(principal.scopes)},
            )
        return True
