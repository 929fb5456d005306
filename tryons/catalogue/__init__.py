"""The garment catalogue: a partner's garments registered once (`/v1/garments`), fetched once by the worker
into our own copy, and used by every cart that names them (by `garmentId`, or by the same `imageUrl`)
instead of downloading them again (README, "Garment catalogue")."""
