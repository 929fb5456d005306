import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from organizations import services as organization_services

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()


def make_organization(owner=None, **kwargs):
    """An organization through the real service: owner membership and the signup grant included."""
    owner = owner or UserFactory()
    kwargs.setdefault("name", "Acme Fashion")
    return organization_services.organization_create(owner=owner, **kwargs)


def make_photo_row(customer, storage_key, uploaded_at=None):
    """A Photo row (no stored object) for tests that only read photo metadata, e.g. `photoUrl`."""
    from customers.models import Photo

    photo = Photo.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        storage_key=storage_key,
        content_type="image/jpeg",
        width=600,
        height=800,
        size_bytes=1234,
    )
    if uploaded_at is not None:  # auto_now_add ignores a value given to create()
        Photo.objects.filter(pk=photo.pk).update(uploaded_at=uploaded_at)
    return photo
