"""The one reading of a list's choice filter (`?status=`, `?category=`): absent or empty is no filter, a value
outside the choices a 400 naming the parameter and the choices."""

from api.errors import ValidationError


def choice_parameter(request, name: str, choices) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in choices:
        raise ValidationError(details={name: [f"Must be one of {', '.join(choices)}."]})
    return value
