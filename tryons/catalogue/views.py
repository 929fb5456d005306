from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.choice_parameters import choice_parameter
from api.conditional import CONDITIONAL_DESCRIPTION, IF_NONE_MATCH, row_conditional
from apikeys import scopes
from apikeys.partner import PartnerAPIMixin
from tryons.catalogue import services
from tryons.catalogue.models import Garment
from tryons.catalogue.serializers import GarmentSerializer, GarmentUpsertSerializer
from tryons.models import CATEGORIES

GARMENT_ID = OpenApiParameter("garmentId", str, OpenApiParameter.PATH, description="The garment's id.")


@extend_schema(tags=["Garments"])
class GarmentViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """The garment catalogue: garments registered once by productId (+ variantId), their images fetched
    once by the worker, used by every cart that names them (README, "Garment catalogue")."""

    operation_resource = "garments"
    required_scopes = {
        "create": scopes.GARMENTS_WRITE,
        "destroy": scopes.GARMENTS_WRITE,
        "refresh": scopes.GARMENTS_WRITE,
        "list": scopes.GARMENTS_READ,
        "retrieve": scopes.GARMENTS_READ,
    }
    serializer_class = GarmentSerializer
    lookup_url_kwarg = "garmentId"
    queryset = Garment.objects.none()

    @extend_schema(
        summary="Register or update a garment by productId (+ variantId)",
        description=(
            "201 when the garment is created, 200 when it existed and was updated. Fields left out keep "
            "their values. A new garment, or a new imageUrl, is fetched by the worker: `status` is "
            "`pending` until it is `ready` (or `failed`, with `error.code`), and a garment.ready or "
            "garment.failed event says which."
        ),
        request=GarmentUpsertSerializer,
        responses={200: GarmentSerializer, 201: GarmentSerializer},
    )
    def create(self, request):
        serializer = GarmentUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        garment, created = services.garment_upsert(
            organization_id=self.organization_id,
            product_id=serializer.validated_data["productId"],
            variant_id=serializer.validated_data["variantId"],
            **serializer.to_fields(),
        )
        return Response(
            GarmentSerializer(garment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="List garments, newest first",
        parameters=[
            OpenApiParameter("category", str, enum=list(CATEGORIES)),
            OpenApiParameter("status", str, enum=Garment.Status.values),
        ],
        responses={200: GarmentSerializer(many=True)},
    )
    def list(self, request):
        garments = services.garment_list(
            organization_id=self.organization_id,
            category=choice_parameter(request, "category", CATEGORIES),
            status=choice_parameter(request, "status", Garment.Status.values),
        )
        page = self.paginate_queryset(garments)
        return self.get_paginated_response(GarmentSerializer(page, many=True).data)

    @extend_schema(
        summary="Get a garment",
        description=CONDITIONAL_DESCRIPTION,
        parameters=[GARMENT_ID, IF_NONE_MATCH],
        responses={200: GarmentSerializer, 304: None},
    )
    def retrieve(self, request, garmentId=None):
        garment = services.garment_get(organization_id=self.organization_id, garment_id=garmentId)
        return row_conditional(
            request, rows=(garment,), render=lambda: Response(GarmentSerializer(garment).data)
        )

    @extend_schema(
        summary="Delete a garment and our copy of its image",
        description="Carts that used it keep their results.",
        parameters=[GARMENT_ID],
        responses={204: None},
    )
    def destroy(self, request, garmentId=None):
        services.garment_delete(organization_id=self.organization_id, garment_id=garmentId)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Fetch a garment's image again",
        description="For an image changed behind the same URL, or after a failed fetch: `pending` until the "
        "worker has fetched it.",
        request=None,
        parameters=[GARMENT_ID],
        responses={200: GarmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request, garmentId=None):
        garment = services.garment_refresh(organization_id=self.organization_id, garment_id=garmentId)
        return Response(GarmentSerializer(garment).data)
