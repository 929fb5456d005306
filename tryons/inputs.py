"""What a partner asks to try on, as the pipeline takes it: built by the serializers (or the admin, bench
and tests), read by creation."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class GarmentInput:
    product_id: str
    image_url: str
    category: str
    variant_id: str = ""
    name: str = ""
    quantity: int = 1
    price: Decimal | None = None
    currency: str = ""
    # The item's own render controls (tryons.controls), over the cart's; unset: the cart's.
    garment_photo_type: str = ""
    num_samples: int | None = None
    seed: int | None = None
    output_format: str = ""
    reuse: bool | None = None  # over the cart's `reuse` (tryons.reuse)
    # A catalogue garment (tryons.catalogue) the item names instead of imageUrl and category.
    garment_id: str = ""

    def canonical(self) -> dict:
        controls = {
            name: value
            for name, value in (
                ("garmentPhotoType", self.garment_photo_type),
                ("numSamples", self.num_samples),
                ("seed", self.seed),
                ("outputFormat", self.output_format),
                ("reuse", self.reuse),
                ("garmentId", self.garment_id),
            )
            if value not in ("", None)
        }
        return {
            **controls,  # only when given: an item without any hashes as it always did
            "productId": self.product_id,
            "variantId": self.variant_id,
            "name": self.name,
            "imageUrl": self.image_url,
            "category": self.category,
            "quantity": self.quantity,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
        }
