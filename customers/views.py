from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.conditional import CONDITIONAL_DESCRIPTION, IF_NONE_MATCH, row_conditional
from api.parsers import multipart_parse_bounded
from apikeys.partner import PartnerAPIMixin
from apikeys.scopes import CUSTOMERS_CREATE, CUSTOMERS_READ, PHOTOS_READ, PHOTOS_UPLOAD
from customers import selectors, services
from customers.models import Customer, Photo
from customers.serializers import (
    EXTERNAL_ID_SCHEMA_PATTERN,
    CustomerSerializer,
    CustomerUpsertSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
)

EXTERNAL_ID = OpenApiParameter(
    "externalId",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": EXTERNAL_ID_SCHEMA_PATTERN},
    OpenApiParameter.PATH,
    description="Your identifier for the customer (any characters except '/', '?', '#', '%', whitespace).",
)


@extend_schema(tags=["Customers"])
class CustomerViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """External customers of the key's organization, identified by the partner's `externalId`."""

    operation_resource = "customers"

    required_scopes = {
        "create": CUSTOMERS_CREATE,
        "destroy": CUSTOMERS_CREATE,
        "list": CUSTOMERS_READ,
        "retrieve": CUSTOMERS_READ,
    }
    serializer_class = CustomerSerializer
    queryset = Customer.objects.none()
    lookup_url_kwarg = "externalId"

    @extend_schema(
        operation_id="customers_upsert",  # a create that also updates: SDKs call it upsert
        summary="Create or update a customer by externalId",
        description=(
            "201 when the customer is created, 200 when it already existed and was updated. Fields left out "
            "keep their values; `metadata`, when given, replaces the stored object."
        ),
        request=CustomerUpsertSerializer,
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    )
    def create(self, request):
        serializer = CustomerUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        customer, created = services.customer_upsert(
            organization_id=self.organization_id, external_id=data.pop("externalId"), **data
        )
        return Response(
            CustomerSerializer(customer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(summary="List customers", responses={200: CustomerSerializer(many=True)})
    def list(self, request):
        customers = selectors.customer_list(organization_id=self.organization_id)
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)

    @extend_schema(
        summary="Get a customer",
        description=CONDITIONAL_DESCRIPTION,
        parameters=[EXTERNAL_ID, IF_NONE_MATCH],
        responses={200: CustomerSerializer, 304: None},
    )
    def retrieve(self, request, externalId=None):
        customer = selectors.customer_detail(organization_id=self.organization_id, external_id=externalId)
        # Its row with the latest photo's key (annotated): all the answer shows, its photo's signed URL aside.
        return row_conditional(
            request, rows=(customer,), render=lambda: Response(CustomerSerializer(customer).data)
        )

    @extend_schema(
        summary="Delete a customer and erase its photos and try-on results",
        parameters=[EXTERNAL_ID],
        responses={204: None},
    )
    def destroy(self, request, externalId=None):
        services.customer_delete(organization_id=self.organization_id, external_id=externalId)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["Customer photos"], parameters=[EXTERNAL_ID])
class CustomerPhotoViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """Photos of one customer. Uploads are decoded, EXIF-stripped and re-encoded before they are stored."""

    operation_resource = "photos"
    required_scopes = {"create": PHOTOS_UPLOAD, "list": PHOTOS_READ}
    serializer_class = PhotoSerializer
    queryset = Photo.objects.none()
    parser_classes = [MultiPartParser]

    def check_permissions(self, request):
        super().check_permissions(request)
        # Runs after authentication and scopes but before anything (idempotency included) reads the body.
        if self.action == "create":
            multipart_parse_bounded(request, max_file_bytes=settings.PHOTO_MAX_BYTES, what="Photo")

    @extend_schema(
        summary="Upload a customer photo",
        description=(
            "Multipart form with a `photo` file (JPEG, PNG or WebP, judged by decoding; not animated; "
            "at most PHOTO_MAX_BYTES, default 10 MB; shorter side at least 300 px, longer side at most "
            "4096 px) and an optional `metadata` JSON string. EXIF orientation is applied and all metadata "
            "(GPS included) is removed before storing. `photoUrl` is a signed URL that expires."
        ),
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={200: PhotoSerializer},
    )
    def create(self, request, externalId=None):
        customer = services.customer_get(organization_id=self.organization_id, external_id=externalId)
        serializer = PhotoUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        photo = services.photo_upload(
            customer=customer,
            upload=serializer.validated_data["photo"],
            metadata=serializer.validated_data.get("metadata"),
        )
        return Response(PhotoSerializer(photo).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary="List a customer's photos, newest first", responses={200: PhotoSerializer(many=True)}
    )
    def list(self, request, externalId=None):
        customer = services.customer_get(organization_id=self.organization_id, external_id=externalId)
        page = self.paginate_queryset(selectors.customer_photos(customer=customer))
        return self.get_paginated_response(PhotoSerializer(page, many=True).data)
