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

    def canonical(self) -> dict:
        return {
            "productId": self.product_id,
            "variantId": self.variant_id,
            "name": self.name,
            "imageUrl": self.image_url,
            "category": self.category,
            "quantity": self.quantity,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
        }
